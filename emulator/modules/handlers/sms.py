"""The SMS feature (3GPP TS 27.005, text and PDU mode) for each module, assembled from its parts.

sms_codec.py (TPDU glue over smspdudecoder), sms_store.py (state, storages, +CMS ERROR),
sms_settings.py (+CSMS +CMGF +CSCA +CSMP +CSDH +CSCB +CPMS +CNMI +CNMA, ``*SKT*NEWMSG``),
sms_send.py (+CMGS +CMGW +CMSS), sms_read.py (+CMGR +CMGL +CMGD), sms_text.py (what they
print), sms_quectel.py (+QCMGS +QCMGR), sms_woorinet.py (``AT*SKT*``), sms_urc.py (MT arrival: +CMTI +CMT +CDS +CDSI). The network side is
``emulator/net/smsc.py``.

Per module: every module numbers its storages from 0 ("ME" is the power-on storage): Quectel
firmware logs show ``+CMTI: "ME",0`` (Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005; the BG96 itself [?]); WIZnet's AM01
(AMM592/AMM5918K) SMS guide (Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_AMM592_sms.md)
shows ``+CMTI: "ME",0`` / ``AT+CMGR=0`` and an index range 0-24 (so 25 in "ME"); the
WM-N400MSE's READMT counts from 0 too [?: its +CMGR base is not shown]. The WM-N400MSE also
has its SKT commands (sms_woorinet.py). SMSC numbers are invented (SKT) or the Quectel
manual's (China).

Must not: hold command logic itself.
"""

from __future__ import annotations

from ..profile import Feature
from . import sms_quectel, sms_read, sms_send, sms_settings, sms_woorinet
from .sms_send import SmsReady
from .sms_store import SmsConfig, make_init
from .sms_urc import SmsIncoming, on_incoming

COMMANDS = sms_settings.T.merged(sms_send.T, sms_read.T)


def feature(config: SmsConfig, *, woorinet: bool = False, quectel: bool = False) -> Feature:
    table = COMMANDS.merged(sms_woorinet.W) if woorinet else COMMANDS
    if quectel:
        table = table.merged(sms_quectel.Q)
    return Feature("sms", table, stimuli={SmsIncoming: on_incoming}, init=make_init(config),
                   on_boot=lambda ctx: ctx.effect(SmsReady()))


BG96_FEATURE = feature(SmsConfig(index_base=0), quectel=True)
EC800E_FEATURE = feature(SmsConfig(index_base=0), quectel=True)  # SMSC: data file ``smsc``
WOORINET_FEATURE = feature(SmsConfig(index_base=0, skt_newmsg=True), woorinet=True)
AMTELECOM_FEATURE = feature(SmsConfig(index_base=0, capacities=(("ME", 25), ("SM", 50), ("SR", 50))))
