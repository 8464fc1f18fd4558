"""AM Telecom AMM5918K (WIoT-AM01): V.250 + 27.007 (with the init/time commands drivers
send) + AM Telecom vendor commands."""

from .data_loader import build_profile
from .handlers import amtelecom, power, sms, thingplug, ts27007, ts27007_info, ts27007_time, v250

PROFILE = build_profile("amm5918k", "amm5918k", ts27007_info.complete((
    v250.FEATURE, ts27007.FEATURE, ts27007_info.FEATURE, ts27007_time.FEATURE, power.FEATURE,
    amtelecom.FEATURE, thingplug.BG96_FEATURE, sms.AMTELECOM_FEATURE)))
