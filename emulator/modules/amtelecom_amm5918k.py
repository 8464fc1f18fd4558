"""AM Telecom AMM5918K (WIoT-AM01): V.250 + 27.007 + AM Telecom vendor commands."""

from .data_loader import build_profile
from .handlers import thingplug, amtelecom, power, sms, ts27007, v250

PROFILE = build_profile("amm5918k", "amm5918k", (v250.FEATURE, ts27007.FEATURE, power.FEATURE, amtelecom.FEATURE, thingplug.BG96_FEATURE,
                                                 sms.AMTELECOM_FEATURE))
