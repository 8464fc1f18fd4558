"""Load tests on an existing engine: in-process modem fleets driven by Locust users.

fleet.py runs one Emulator in a native OS thread and hands each user the host end of one modem's
line; steps.py runs a scenario's send/expect steps over such a line and reports every AT command;
locust_user.py is the Locust ``User`` class (import it only where Locust is installed).

Must not: be imported by any other package of emulator/ (Locust and gevent are optional).
"""
