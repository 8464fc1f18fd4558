"""Quectel EC800E / ECx00x (China Telecom): V.250, 27.007 (with the init, time and USSD commands
drivers send), SMS (27.005), power saving, Quectel common and info commands, TCP/IP (AT+QI*, AT+QNTP),
MQTT (AT+QMT*, with AT+QMTPUBEX), the LwM2M client (AT+QLW*), the file system (AT+QF*), TLS
sockets (AT+QSSL*) and the HTTP(S) client (AT+QHTTP*). One feature per line: later ones override
earlier handlers of the same command.

Must not: implement commands (handlers/ do) or do I/O; this file only lists features and quirks."""

from .data_loader import build_profile
from .handlers import (power, quectel_common, quectel_file, quectel_http, quectel_info, quectel_lwm2m, quectel_mqtt,
                       quectel_ntp, quectel_ssl, quectel_tcpip, sms, ts27007, ts27007_info, ts27007_time, ussd,
                       v250)

PROFILE = build_profile("ec800e", "ec800e", ts27007_info.complete((
    v250.FEATURE,
    ts27007.FEATURE,
    ts27007_info.FEATURE,
    ts27007_time.FEATURE,
    ussd.FEATURE,
    power.FEATURE,
    power.QUECTEL_FEATURE,
    power.EC800E_FEATURE,
    quectel_common.FEATURE,
    quectel_info.FEATURE,
    quectel_tcpip.FEATURE,
    quectel_ntp.FEATURE,
    quectel_mqtt.FEATURE,
    quectel_mqtt.PUBEX_FEATURE,
    quectel_lwm2m.FEATURE,
    sms.EC800E_FEATURE,
    quectel_file.FEATURE,
    quectel_ssl.FEATURE,
    quectel_http.FEATURE,
)))
