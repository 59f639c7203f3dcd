"""A real SMTP listener for Loopdesk's tests (aiosmtpd). Usage: smtp_sink.py DIR PORT.

Every message accepted is written to DIR as NNNNNN.json: envelope, decoded headers, the text
and HTML parts, and the raw message. Recipients steer the answers: an address containing
"reject" gets 550 at RCPT, "tempfail" gets 451, "slow" has its first delivery of each
Message-ID stored and then answered only after SINK_SLOW seconds (default 3), as a server that
took the mail but whose answer never arrived in time. Stops when its standard input closes.
"""
import asyncio
import email
import json
import os
import sys
from email import policy

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.slowed = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 no such mailbox"
        if "tempfail" in address:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        parts = {}
        for part in msg.walk():
            ct = part.get_content_type()
            if ct in ("text/plain", "text/html") and ct not in parts:
                parts[ct] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg.get("Subject", "")),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "reply_to": str(msg.get("Reply-To", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "in_reply_to": str(msg.get("In-Reply-To", "")),
            "references": str(msg.get("References", "")),
            "auto_submitted": str(msg.get("Auto-Submitted", "")),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        self.n += 1
        path = os.path.join(self.out, "%06d.json" % self.n)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        mid = record["message_id"]
        if any("slow" in r for r in envelope.rcpt_tos) and mid not in self.slowed:
            self.slowed.add(mid)
            await asyncio.sleep(float(os.environ.get("SINK_SLOW", "3")))
        return "250 OK"


def main():
    out, port = sys.argv[1], int(sys.argv[2])
    c = Controller(Handler(out), hostname="127.0.0.1", port=port)
    c.start()
    print("ready", flush=True)
    sys.stdin.read()
    c.stop()


if __name__ == "__main__":
    main()
