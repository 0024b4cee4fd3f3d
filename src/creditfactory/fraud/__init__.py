"""Anti-fraud (反欺诈): identity checks, lists, velocity, fraud-ring groups and a fraud score.

``fraud_features(applications, point_in_time=True)`` gives every feature of a batch of
applications, each from what was known when it arrived (or, with ``point_in_time=False``, from
the whole history); ``FraudState`` is its online form, one application at a time, and
``VelocityState`` and ``RingState`` its parts, for a store-backed provider to wrap.
``check_id_numbers`` and ``carrier_of`` check resident ID and mobile numbers; ``read_id_card``
and ``cross_check`` read an ID card's front (optional extra ``ocr``) and check it.
``HashedLists`` holds identifier lists in keyed-hash form, and ``Provider`` / ``Lookups`` are the
seam through which a strategy looks lists (and other stored features) up at decision time.
"""

import typing

from creditfactory import _lazy_exports

if typing.TYPE_CHECKING:
    from creditfactory.fraud._contacts import (
        CONTACT_FIELDS,
        MAX_DECLARED_CONTACTS,
        ContactState,
        contact_problems,
        declared_contacts,
    )
    from creditfactory.fraud._evaluate import FraudMeasures, evaluate
    from creditfactory.fraud._features import FEATURES, REQUIRED, FraudState, fraud_features
    from creditfactory.fraud._identity import (
        CARRIER_PREFIXES,
        REASON_CODES,
        carrier_of,
        check_character,
        check_id_numbers,
        identity_checks,
        is_valid_id_number,
    )
    from creditfactory.fraud._lists import (
        CONTACTS_LISTED_SHARE,
        HashedLists,
        hash_identifier,
        identifier_text,
        list_feature,
        parse_list_feature,
    )
    from creditfactory.fraud._models import (
        MODEL_FEATURES,
        FraudAnomaly,
        fit_fraud_model,
        load_anomaly,
        model_frame,
    )
    from creditfactory.fraud._ocr import (
        CHECKED_FIELDS,
        FIELD_STATUSES,
        IMAGE_FORMATS,
        MAX_IMAGE_PIXELS,
        OCR_REASONS,
        IdCardFields,
        cross_check,
        decode_card_image,
        ocr_engine,
        parse_id_card_text,
        read_id_card,
        same_value,
    )
    from creditfactory.fraud._provider import Lookups, Provider, feature_kind
    from creditfactory.fraud._rings import LINKS, RingState, components, link_edges
    from creditfactory.fraud._score import FLAG_THRESHOLD, SCORE_REASONS
    from creditfactory.fraud._source import (
        FraudSource,
        fraud_feature,
        keyed_hasher,
        parse_fraud_feature,
    )
    from creditfactory.fraud._velocity import WINDOWS, VelocityState, velocity_columns

__all__ = [
    "CARRIER_PREFIXES",
    "CHECKED_FIELDS",
    "CONTACTS_LISTED_SHARE",
    "CONTACT_FIELDS",
    "FEATURES",
    "FIELD_STATUSES",
    "FLAG_THRESHOLD",
    "IMAGE_FORMATS",
    "LINKS",
    "MAX_DECLARED_CONTACTS",
    "MAX_IMAGE_PIXELS",
    "MODEL_FEATURES",
    "OCR_REASONS",
    "REASON_CODES",
    "REQUIRED",
    "SCORE_REASONS",
    "WINDOWS",
    "ContactState",
    "FraudAnomaly",
    "FraudMeasures",
    "FraudSource",
    "FraudState",
    "HashedLists",
    "IdCardFields",
    "Lookups",
    "Provider",
    "RingState",
    "VelocityState",
    "carrier_of",
    "check_character",
    "check_id_numbers",
    "components",
    "contact_problems",
    "cross_check",
    "declared_contacts",
    "decode_card_image",
    "evaluate",
    "feature_kind",
    "fit_fraud_model",
    "fraud_feature",
    "fraud_features",
    "hash_identifier",
    "identifier_text",
    "identity_checks",
    "is_valid_id_number",
    "keyed_hasher",
    "link_edges",
    "list_feature",
    "load_anomaly",
    "model_frame",
    "ocr_engine",
    "parse_fraud_feature",
    "parse_id_card_text",
    "parse_list_feature",
    "read_id_card",
    "same_value",
    "velocity_columns",
]

if not typing.TYPE_CHECKING:  # each name is imported from its module on first use
    __getattr__, __dir__ = _lazy_exports(__name__)
