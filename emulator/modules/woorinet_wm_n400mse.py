"""Woori-net WM-N400MSE (WIoT-WM01): V.250 + 27.007 (with the init/time commands drivers
send) + Woori-net vendor commands."""

from .data_loader import build_profile
from .handlers import power, sms, thingplug, ts27007, ts27007_info, ts27007_time, v250, woorinet

PROFILE = build_profile("wm-n400mse", "wm_n400mse", ts27007_info.complete((
    v250.FEATURE, ts27007.FEATURE, ts27007_info.FEATURE, ts27007_time.FEATURE, power.FEATURE,
    woorinet.FEATURE, thingplug.FEATURE, sms.WOORINET_FEATURE)))
