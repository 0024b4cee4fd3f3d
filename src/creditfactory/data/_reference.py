"""Reference data of the simulated market: cities, occupations, products.

Region codes are real six-digit administrative codes (GB/T 2260) of a district of each city, so
the resident ID numbers the simulator writes start with a region that exists.
"""

from __future__ import annotations

# city, tier, region code, weight in the applicant flow
CITIES: tuple[tuple[str, int, str, float], ...] = (
    ("Beijing", 1, "110105", 4.0),
    ("Shanghai", 1, "310104", 4.0),
    ("Guangzhou", 1, "440106", 3.5),
    ("Shenzhen", 1, "440304", 3.5),
    ("Chengdu", 2, "510104", 3.0),
    ("Hangzhou", 2, "330106", 2.5),
    ("Wuhan", 2, "420102", 2.5),
    ("Xi'an", 2, "610113", 2.0),
    ("Nanjing", 2, "320102", 2.0),
    ("Chongqing", 2, "500103", 3.0),
    ("Tianjin", 2, "120101", 2.0),
    ("Suzhou", 2, "320505", 2.0),
    ("Changsha", 2, "430102", 2.0),
    ("Zhengzhou", 2, "410102", 2.5),
    ("Luoyang", 3, "410302", 1.5),
    ("Mianyang", 3, "510703", 1.2),
    ("Ganzhou", 3, "360702", 1.5),
    ("Yichang", 3, "420502", 1.0),
    ("Baoding", 3, "130602", 1.5),
    ("Nanyang", 3, "411302", 1.5),
    ("Zunyi", 3, "520302", 1.2),
    ("Weifang", 3, "370702", 1.3),
    ("Zhoukou", 4, "411602", 1.5),
    ("Heze", 4, "371702", 1.5),
    ("Bijie", 4, "520502", 1.2),
    ("Fuyang", 4, "341202", 1.5),
    ("Shangqiu", 4, "411402", 1.3),
    ("Tianshui", 4, "620502", 0.8),
)

OCCUPATIONS: tuple[str, ...] = (
    "civil_servant",
    "enterprise_employee",
    "micro_business_owner",
    "farmer",
    "worker",
    "student",
    "freelancer",
)
# median monthly income (CNY) in a tier-1 city
OCCUPATION_INCOME: dict[str, float] = {
    "civil_servant": 11_000,
    "enterprise_employee": 10_000,
    "micro_business_owner": 13_000,
    "farmer": 4_500,
    "worker": 6_500,
    "student": 2_000,
    "freelancer": 8_000,
}
TIER_INCOME_FACTOR: dict[int, float] = {1: 1.0, 2: 0.78, 3: 0.62, 4: 0.52}

EDUCATION: tuple[str, ...] = (
    "below_high_school",
    "high_school",
    "college",
    "bachelor",
    "postgraduate",
)
HOUSING: tuple[str, ...] = ("own", "mortgage", "rent")
RELATIONSHIPS: tuple[str, ...] = ("payroll", "deposits", "none")
ACQUISITION_CHANNELS: tuple[str, ...] = ("branch", "app", "partner", "campaign")
PRODUCTS: tuple[str, ...] = ("cash_loan", "instalment", "micro_business")
PHONE_TIERS: tuple[str, ...] = ("low", "mid", "high", "flagship")

# channel -> product shares (cash_loan, instalment, micro_business)
CHANNEL_PRODUCTS: dict[str, tuple[float, float, float]] = {
    "branch": (0.55, 0.05, 0.40),
    "app": (0.85, 0.05, 0.10),
    "travel": (0.10, 0.90, 0.00),
    "electronics_3c": (0.00, 1.00, 0.00),
    "rent": (0.10, 0.90, 0.00),
    "education": (0.05, 0.95, 0.00),
    "agriculture": (0.15, 0.25, 0.60),
    "beauty": (0.05, 0.95, 0.00),
    "auto": (0.00, 1.00, 0.00),
    "ecommerce": (0.30, 0.70, 0.00),
}
# product -> (median amount, log-sd, min, max)
PRODUCT_AMOUNTS: dict[str, tuple[float, float, float, float]] = {
    "cash_loan": (10_000, 0.9, 1_000, 200_000),
    "instalment": (6_000, 0.8, 500, 150_000),
    "micro_business": (60_000, 0.8, 10_000, 500_000),
}
# product -> (terms, shares)
PRODUCT_TERMS: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "cash_loan": ((3, 6, 12, 24, 36), (0.10, 0.20, 0.40, 0.20, 0.10)),
    "instalment": ((3, 6, 12, 24), (0.20, 0.30, 0.40, 0.10)),
    "micro_business": ((12, 24, 36), (0.40, 0.35, 0.25)),
}
# the incumbent's limit caps by product (CNY)
PRODUCT_LIMIT_CAP: dict[str, float] = {
    "cash_loan": 200_000,
    "instalment": 150_000,
    "micro_business": 500_000,
}
# channel effect on the true log-odds of delinquency (scenario risk)
CHANNEL_RISK: dict[str, float] = {
    "branch": -0.25,
    "app": 0.0,
    "travel": 0.1,
    "electronics_3c": -0.05,
    "rent": 0.15,
    "education": 0.45,
    "agriculture": 0.2,
    "beauty": 0.5,
    "auto": -0.1,
    "ecommerce": 0.05,
}

COHORT_EDGES: tuple[tuple[int, str], ...] = (
    (1950, "50后"),
    (1960, "60后"),
    (1970, "70后"),
    (1980, "80后"),
    (1990, "90后"),
    (2000, "00后"),
    (2010, "10后"),
)
