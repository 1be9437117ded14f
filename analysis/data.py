"""The inputs of the statistics: the answers as numpy arrays, and the questionnaire scheme."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

SIPAS_ELEMENTS = {
    "A": ("A1", "A2", "A3"),
    "B": ("B1", "B2", "B3", "B4"),
    "C": ("C1", "C2", "C3"),
    "D": ("D1", "D2", "D3"),
    "E": ("E1", "E2", "E3"),
}


@dataclass(frozen=True)
class Scheme:
    """Which columns are criteria, how they form elements, and which answers count as satisfied.

    `item_keys` names the K columns of `Responses.scores` in order. `elements` maps an element key
    to its criterion keys; the service index is the unweighted mean of the element indices. Items
    in no element (an overall question) get criterion rows only. An answer is satisfied when its
    value is >= `satisfied_min` (4 on the SIPAS 1-5 scale, 2 on the quick form's 1-3 scale);
    answers run from 1 to `max_score`.
    """

    item_keys: tuple[str, ...]
    elements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    satisfied_min: int = 4
    max_score: int = 5  # top of the answer scale (3 on the quick form): bounds mean-score CIs

    def __post_init__(self) -> None:
        # Accept lists from callers but store tuples, so a Scheme can be shared and hashed safely.
        object.__setattr__(self, "item_keys", tuple(self.item_keys))
        object.__setattr__(
            self, "elements", {str(e): tuple(keys) for e, keys in self.elements.items()}
        )
        if len(set(self.item_keys)) != len(self.item_keys):
            raise ValueError("item keys must be unique")
        if self.satisfied_min < 1:
            raise ValueError("satisfied_min must be >= 1: the value 0 means 'missing'")
        if self.max_score < max(2, self.satisfied_min):
            raise ValueError("max_score must be >= 2 and >= satisfied_min")
        seen: set[str] = set()
        for element, keys in self.elements.items():
            if not keys:
                raise ValueError(f"element {element} has no criteria")
            for key in keys:
                if key not in self.item_keys:
                    raise ValueError(f"criterion {key} of element {element} is not an item key")
                if key in seen:
                    raise ValueError(f"criterion {key} belongs to two elements")
                seen.add(key)
            if element in self.item_keys or element == "service":
                raise ValueError(f"element key {element} clashes with an item key or 'service'")

    @classmethod
    def sipas(cls, extra_items: tuple[str, ...] = ("OVERALL",)) -> Scheme:
        """Return the SIPAS service scheme: 16 criteria in elements A-E, then `extra_items`."""
        items = tuple(k for keys in SIPAS_ELEMENTS.values() for k in keys) + tuple(extra_items)
        return cls(item_keys=items, elements=dict(SIPAS_ELEMENTS), satisfied_min=4)

    @classmethod
    def quick(cls) -> Scheme:
        """Return the counter-quick scheme: Q1, Q2 on 1-3, satisfied unless 1 (Không hài lòng)."""
        return cls(
            item_keys=("Q1", "Q2"), elements={"Q": ("Q1", "Q2")}, satisfied_min=2, max_score=3
        )

    @property
    def keys(self) -> list[str]:
        """Return the row keys in output order: 'service' (if any element), elements, criteria."""
        head = ["service"] if self.elements else []
        return head + list(self.elements) + list(self.item_keys)

    @property
    def levels(self) -> list[str]:
        """Return the level ('service', 'element', 'criterion') of each key of `keys`."""
        head = ["service"] if self.elements else []
        return head + ["element"] * len(self.elements) + ["criterion"] * len(self.item_keys)


@dataclass(frozen=True)
class Responses:
    """One entry per response: answers, agency, primary sampling unit, weight, period.

    `scores` is (n, K) uint8 with 0 for a missing or "does not apply" answer. `agency` (codes
    0..A-1) and `period` (codes 0..P-1, in time order) are the domains; `psu` identifies the
    counter (or imported cluster); PSUs are taken within agency, so equal codes in two agencies
    are two PSUs. `weight` is > 0. `poststratum` (optional) gives the post-stratification cell
    of each response: when set, the weights are taken as post-stratified within (period, agency,
    cell) and the variance is centred within those cells.
    """

    scores: np.ndarray
    agency: np.ndarray
    psu: np.ndarray
    weight: np.ndarray
    period: np.ndarray
    poststratum: np.ndarray | None = None

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores)
        if scores.ndim != 2:
            raise ValueError("scores must be a (responses, items) array")
        if scores.dtype != np.uint8:
            if scores.size and (scores.min() < 0 or scores.max() > 255):
                raise ValueError("scores must lie in 0..255 (0 = missing)")
            scores = scores.astype(np.uint8)
        object.__setattr__(self, "scores", scores)
        n = scores.shape[0]
        for name in ("agency", "psu", "period", "poststratum"):
            value = getattr(self, name)
            if value is None:
                continue
            codes = np.asarray(value)
            if codes.shape != (n,):
                raise ValueError(f"{name} must have one entry per response")
            if not np.issubdtype(codes.dtype, np.integer):
                raise ValueError(f"{name} must hold integer codes")
            if n and codes.min() < 0:
                raise ValueError(f"{name} codes must be >= 0")
            object.__setattr__(self, name, codes.astype(np.int64, copy=False))
        weight = np.asarray(self.weight, dtype=np.float64)
        if weight.shape != (n,):
            raise ValueError("weight must have one entry per response")
        if n and not (np.all(np.isfinite(weight)) and weight.min() > 0):
            raise ValueError("weights must be finite and > 0")
        object.__setattr__(self, "weight", weight)

    @property
    def n(self) -> int:
        """Return the number of responses."""
        return int(self.scores.shape[0])

    def with_weights(self, weight: np.ndarray) -> Responses:
        """Return a copy with other weights (e.g. from `poststratify`), arrays shared."""
        return dataclasses.replace(self, weight=weight)
