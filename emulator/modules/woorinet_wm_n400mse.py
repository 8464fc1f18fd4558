"""Woori-net WM-N400MSE (WIoT-WM01): V.250 + 27.007 (with the init, time and USSD commands
drivers send) + Woori-net vendor commands, SMS, SKT ThingPlug and the native sockets (AT+WSO*).
One feature per line: later ones override earlier handlers of the same command.

Must not: implement commands (handlers/ do) or do I/O; this file only lists features and quirks."""

from .data_loader import build_profile
from .handlers import power, sms, thingplug, ts27007, ts27007_info, ts27007_time, ussd, v250, woorinet, woorinet_sock

PROFILE = build_profile("wm-n400mse", "wm_n400mse", ts27007_info.complete((
    v250.FEATURE,
    ts27007.FEATURE,
    ts27007_info.FEATURE,
    ts27007_time.FEATURE,
    ussd.FEATURE,
    power.FEATURE,
    woorinet.FEATURE,
    thingplug.FEATURE,
    sms.WOORINET_FEATURE,
    woorinet_sock.FEATURE,
)))
