"""The weights a_k that turn criterion indices into element and service indices, per domain."""

from __future__ import annotations

import numpy as np

from analysis.data import Scheme


def coefficients(valid: np.ndarray, scheme: Scheme) -> np.ndarray:
    """Return a (domains, K, keys) array: row key r of domain d is sum_k C[d, k, r] * p_k.

    `valid` (domains, K) says which criteria have at least one valid answer in the domain. An
    element is the unweighted mean of its criteria that have an answer; the service index the
    unweighted mean of the elements that have one (so a_k = 1 / (elements x criteria in k's
    element) when everything is answered). A criterion nobody answered therefore leaves its
    element's mean, as a missing answer leaves a criterion's denominator; the row that lost a
    component is flagged (see `missing_components`). Criterion columns are the identity, zero
    where the criterion has no answer. A key whose column is all zero has no estimate.
    """
    valid = np.asarray(valid, dtype=bool)
    n_domains, n_items = valid.shape
    keys = scheme.keys
    column = {key: i for i, key in enumerate(keys)}
    item = {key: k for k, key in enumerate(scheme.item_keys)}
    coef = np.zeros((n_domains, n_items, len(keys)))
    answered = valid.astype(np.float64)
    present = np.zeros((n_domains, len(scheme.elements)), dtype=bool)
    for e, (element, members) in enumerate(scheme.elements.items()):
        idx = [item[m] for m in members]
        count = answered[:, idx].sum(axis=1)
        present[:, e] = count > 0
        share = np.divide(
            answered[:, idx],
            count[:, None],
            out=np.zeros((n_domains, len(idx))),
            where=count[:, None] > 0,
        )
        coef[:, idx, column[element]] = share
    if scheme.elements:
        n_present = present.sum(axis=1).astype(np.float64)
        element_cols = [column[e] for e in scheme.elements]
        total = coef[:, :, element_cols].sum(axis=2)
        coef[:, :, column["service"]] = np.divide(
            total, n_present[:, None], out=np.zeros_like(total), where=n_present[:, None] > 0
        )
    for key, k in item.items():
        coef[:, k, column[key]] = answered[:, k]
    return coef


def missing_components(valid_row: np.ndarray, scheme: Scheme) -> dict[str, list[str]]:
    """Return, for each composite key of one domain, the components it was computed without.

    An element lists its criteria with no valid answer; the service index lists elements with
    no answer at all ("element E") and criteria missing from the elements it kept.
    """
    item = {key: k for k, key in enumerate(scheme.item_keys)}
    result: dict[str, list[str]] = {}
    service: list[str] = []
    any_present = False
    for element, members in scheme.elements.items():
        lost = [m for m in members if not valid_row[item[m]]]
        if len(lost) == len(members):
            service.append(f"element {element}")
            continue  # the element itself has no estimate; its own row says so
        any_present = True
        if lost:
            result[element] = lost
            service.extend(lost)
    if any_present and service:
        result["service"] = service
    return result
