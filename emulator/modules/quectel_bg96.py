"""Quectel BG96 with SKT network firmware (WIoT-QC01): V.250 + 27.007 + Quectel features."""

from .data_loader import build_profile
from .handlers import quectel_common, quectel_tcpip, ts27007, v250

PROFILE = build_profile("bg96", "bg96", (v250.FEATURE, ts27007.FEATURE, quectel_common.FEATURE,
                                         quectel_tcpip.FEATURE))
