"""Agency levels as they are since 1 July 2025, named in one place for every page and form.

Vietnam's local government has two tiers since 1 July 2025: 34 provinces and cities, and the
communes, wards and special zones (xã, phường, đặc khu) below them; the district level is gone.
The commune tier is one level here, whatever its kind: the law puts the three on one tier, an
evaluator compares them as one, and the agency's name already says which kind it is ("Ủy ban
nhân dân phường An Phú"). Agencies stored with the district level keep it and are shown as
such, but no new agency is given it (survey/console/forms.py, survey/cli/imports.py).
"""

from flask_babel import lazy_gettext as _l

from survey.models import AgencyLevel

# Every level's name, in the reader's language (the .po catalogues hold the Vietnamese).
LEVEL_LABELS = {
    AgencyLevel.PROVINCE: _l("Province or city (people's committee)"),
    AgencyLevel.DEPARTMENT: _l("Department or agency of the province"),
    AgencyLevel.CENTRE: _l("Public administrative service centre"),
    AgencyLevel.BRANCH: _l("Branch of the public administrative service centre"),
    AgencyLevel.COMMUNE: _l("Commune, ward or special zone (people's committee)"),
    AgencyLevel.DISTRICT: _l("District (before 1 July 2025)"),
}

# Levels abolished by the reform of 1 July 2025: read, shown, never given to a new agency.
FORMER_LEVELS = frozenset({AgencyLevel.DISTRICT})

# The levels a new agency may take, from the top of the tree down.
CURRENT_LEVELS = tuple(level for level in AgencyLevel if level not in FORMER_LEVELS)


def level_label(level: str) -> str:
    """Return the name of `level` in the user's language (the code itself if it is unknown)."""
    try:
        return str(LEVEL_LABELS[AgencyLevel(level)])
    except ValueError:
        return level


def level_choices(current: str | None = None) -> list[tuple[str, str]]:
    """Return (value, name) of the levels an agency may be given; `current`, an agency's
    present level, is offered too when it is a former one, so that editing it keeps working."""
    levels = list(CURRENT_LEVELS)
    if current in FORMER_LEVELS:
        levels.append(AgencyLevel(current))
    return [(level.value, str(LEVEL_LABELS[level])) for level in levels]


def level_allowed(level: str, current: str | None = None) -> bool:
    """Tell whether an agency whose level is now `current` (None: a new one) may take `level`."""
    return level in CURRENT_LEVELS or (level in FORMER_LEVELS and level == current)
