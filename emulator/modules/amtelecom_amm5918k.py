"""AM Telecom AMM5918K (WIoT-AM01): V.250 + 27.007 (with the init, time and USSD commands
drivers send) + AM Telecom vendor commands, SMS, SKT ThingPlug and the native sockets/DNS (AT@SOCK*6,
AT@DNSQ6). One feature per line: later ones override earlier handlers of the same command.

Must not: implement commands (handlers/ do) or do I/O; this file only lists features and quirks."""

from .data_loader import build_profile
from .handlers import amtelecom, amtelecom_sock, power, sms, thingplug, ts27007, ts27007_info, ts27007_time, ussd, v250

PROFILE = build_profile("amm5918k", "amm5918k", ts27007_info.complete((
    v250.FEATURE,
    ts27007.FEATURE,
    ts27007_info.FEATURE,
    ts27007_time.FEATURE,
    ussd.FEATURE,
    power.FEATURE,
    amtelecom.FEATURE,
    thingplug.BG96_FEATURE,
    sms.AMTELECOM_FEATURE,
    amtelecom_sock.FEATURE,
)))
