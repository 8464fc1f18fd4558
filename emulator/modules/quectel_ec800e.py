"""Quectel EC800E / ECx00x (China Telecom): V.250 + 27.007 + Quectel features + LwM2M client."""

from .data_loader import build_profile
from .handlers import power, quectel_common, quectel_lwm2m, ts27007, v250

PROFILE = build_profile("ec800e", "ec800e", (v250.FEATURE, ts27007.FEATURE, power.FEATURE,
                                             quectel_common.FEATURE, quectel_lwm2m.FEATURE))
