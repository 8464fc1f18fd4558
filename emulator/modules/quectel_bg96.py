"""Quectel BG96 with SKT network firmware (WIoT-QC01): V.250, 27.007, SMS (27.005), power saving,
Quectel common commands, TCP/IP (AT+QI*), MQTT (AT+QMT*), SKT ThingPlug (AT+SKTP*), the file
system (AT+QF*) and TLS sockets (AT+QSSL*). One feature per line: later ones override earlier
handlers of the same command."""

from .data_loader import build_profile
from .handlers import (power, quectel_common, quectel_file, quectel_mqtt, quectel_ssl, quectel_tcpip, sms,
                       thingplug, ts27007, v250)

PROFILE = build_profile("bg96", "bg96", (
    v250.FEATURE,
    ts27007.FEATURE,
    power.FEATURE,
    power.QUECTEL_FEATURE,
    quectel_common.FEATURE,
    quectel_tcpip.FEATURE,
    quectel_mqtt.FEATURE,
    thingplug.BG96_FEATURE,
    sms.BG96_FEATURE,
    quectel_file.FEATURE,
    quectel_ssl.FEATURE,
))
