"""The arXiv category list, so a typo in ARXIV_CATEGORIES is refused at start-up instead of polling nothing.

From https://arxiv.org/category_taxonomy. An archive name alone (``cs``, ``hep-th``) is a valid RSS feed too.
"""

from __future__ import annotations

_SUBJECTS: dict[str, str] = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF PL "
    "RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn gen-ph "
    "geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
# Archives without subject classes.
_PLAIN = ("gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex", "nucl-th", "quant-ph")

CATEGORIES: frozenset[str] = frozenset(
    [
        *_SUBJECTS,
        *_PLAIN,
        *(f"{archive}.{subject}" for archive, subjects in _SUBJECTS.items() for subject in subjects.split()),
    ]
)
_BY_FOLDED = {name.lower(): name for name in CATEGORIES}

VALID_FORMS = (
    "an arXiv category such as cs.LG or cond-mat.str-el, or a whole archive such as cs, math or hep-th "
    "(list: https://arxiv.org/category_taxonomy)"
)


def has_subjects(name: str) -> bool:
    """True for a whole archive with subject classes (``cs``, ``math``), which searches spell ``cs.*``."""
    return name in _SUBJECTS


def canonical(category: str) -> str | None:
    """The category as arXiv spells it (``cs.lg`` -> ``cs.LG``), or None when arXiv has no such category."""
    return _BY_FOLDED.get(category.strip().lower())
