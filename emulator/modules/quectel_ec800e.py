"""Quectel EC800E / ECx00x (China Telecom): V.250, 27.007, SMS (27.005), power saving, Quectel
common commands, TCP/IP (AT+QI*), MQTT (AT+QMT*, with AT+QMTPUBEX), the LwM2M client (AT+QLW*),
the file system (AT+QF*) and TLS sockets (AT+QSSL*). One feature per line: later ones override
earlier handlers of the same command."""

from .data_loader import build_profile
from .handlers import (power, quectel_common, quectel_file, quectel_lwm2m, quectel_mqtt, quectel_ssl, quectel_tcpip,
                       sms, ts27007, v250)

PROFILE = build_profile("ec800e", "ec800e", (
    v250.FEATURE,
    ts27007.FEATURE,
    power.FEATURE,
    power.QUECTEL_FEATURE,
    power.EC800E_FEATURE,
    quectel_common.FEATURE,
    quectel_tcpip.FEATURE,
    quectel_mqtt.FEATURE,
    quectel_mqtt.PUBEX_FEATURE,
    quectel_lwm2m.FEATURE,
    sms.EC800E_FEATURE,
    quectel_file.FEATURE,
    quectel_ssl.FEATURE,
))
