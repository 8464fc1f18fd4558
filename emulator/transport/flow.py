"""Flow-control figures shared by the pty and TCP ports (a UART's buffers, in bytes).

A real module's UART has a small receive buffer and raises CTS to stop the host when it is full;
its transmit side loses bytes when the host does not take them. The emulator does the same:

- input: each modem takes at most ``RX_BUFFER`` bytes that it has not yet processed (a command
  is still running); past it the port stops reading, so the host's ``write`` blocks in the kernel
  as with RTS/CTS, and reading resumes once the modem has taken half of it. Reads are at most
  ``READ_CHUNK`` bytes, so one flooding host gets one bounded slice of work per loop turn and
  every other modem, platform and API request gets its turn in between (fair scheduling).
- output: toward each host (a pty, each TCP client) at most ``TX_BUFFER`` bytes wait beyond
  the kernel's own buffer; past it the newest bytes are lost, as on a serial line whose receiver
  does not keep up (an overrun). Nothing grows without bound; a TCP client's buffer is freed when
  it goes. At most ``MAX_CLIENTS`` TCP clients per modem (a serial port has one host).

The figures are our choice (no Quectel/Woori-net/AM Telecom manual publishes its UART buffer
sizes): a few KiB like a module's RX ring, enough for the longest command line (1 KiB) plus a
data prompt's payload in flight.

Must not: do I/O or know about modems (the ports and ``ModemPort`` apply these figures).
"""

from __future__ import annotations

RX_BUFFER = 4096          # unprocessed input a modem holds before the port stops reading
RX_RESUME = RX_BUFFER // 2  # reading resumes below this
READ_CHUNK = 4096         # most bytes read from one port in one loop callback
TX_BUFFER = 64 * 1024     # output waiting for one host beyond the kernel's buffer
MAX_CLIENTS = 8           # TCP clients per modem port
