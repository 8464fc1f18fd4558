"""Example locustfile: a fleet of BG96 modems publishing MQTT telemetry, one modem per Locust user.

Run (see README "Fleets on Locust"), with your broker on loopback port 1883:

    locust -f examples/locust/locustfile.py --headless -u 100 -r 20 -t 1m \
        --modemu-route mqtt.fleet.test:1883=127.0.0.1:1883

Must not: start a broker or reach anything off loopback.
"""

from pathlib import Path

from locust import between

from emulator.loadtest.locust_user import ModemUser


class TelemetryDevice(ModemUser):
    scenario = str(Path(__file__).with_name("mqtt_device.yaml"))
    wait_time = between(0.5, 1.5)
