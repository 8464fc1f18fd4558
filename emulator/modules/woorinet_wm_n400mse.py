"""Woori-net WM-N400MSE (WIoT-WM01): V.250 + 27.007 + Woori-net vendor commands."""

from .data_loader import build_profile
from .handlers import thingplug, power, sms, ts27007, v250, woorinet

PROFILE = build_profile("wm-n400mse", "wm_n400mse", (v250.FEATURE, ts27007.FEATURE, power.FEATURE, woorinet.FEATURE, thingplug.FEATURE,
                                                     sms.WOORINET_FEATURE))
