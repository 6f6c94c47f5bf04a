"""A fake SMS provider on 127.0.0.1 that speaks Aliyun's and Tencent's SendSms and checks every request's signature
with the secret, written from the providers' documentation independently of the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

SECRET = "fake-secret-0123456789"
KEY_ID = "LTAI-fake-key"


@dataclass
class Received:
    """One message the fake provider accepted."""

    provider: str
    phone: str
    template: str
    values: dict | list
    sign_name: str


@dataclass
class FakeProvider:
    """Accepts correctly signed SendSms calls; `fail_next` answers that many calls with HTTP 503 first; numbers in
    `unreachable` get the provider's "bad number" code."""

    secret: str = SECRET
    fail_next: int = 0
    unreachable: set[str] = field(default_factory=set)
    sent: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    calls: int = 0

    def start(self) -> str:
        """Serve in a thread; returns the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):    # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.calls += 1
                if fake.fail_next > 0:
                    fake.fail_next -= 1
                    return self._reply(503, {"message": "busy"})
                if self.path.startswith("/aliyun"):
                    return self._reply(200, fake.aliyun(body))
                return self._reply(200, fake.tencent(self.headers, body))

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    # --- Aliyun: form POST, Signature = b64(HMAC-SHA1(secret&, POST&%2F&enc(sorted query))) ------------------
    def aliyun(self, body: bytes) -> dict:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        given = params.pop("Signature", "")

        def enc(text):
            return quote(text, safe="-_.~")

        query = "&".join(enc(k) + "=" + enc(params[k]) for k in sorted(params))
        string = "POST&" + enc("/") + "&" + enc(query)
        expected = base64.b64encode(hmac.new((self.secret + "&").encode(), string.encode(), "sha1").digest()).decode()
        if not hmac.compare_digest(given, expected) or params.get("AccessKeyId") != KEY_ID:
            return {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("Action") != "SendSms":
            return {"Code": "InvalidParameter", "Message": "bad common parameters"}
        if params["PhoneNumbers"] in self.unreachable:
            self.refused.append(params["PhoneNumbers"])
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        self.sent.append(Received("aliyun", params["PhoneNumbers"], params["TemplateCode"],
                                  json.loads(params["TemplateParam"]), params["SignName"]))
        return {"Code": "OK", "Message": "OK", "BizId": str(len(self.sent)), "RequestId": "r"}

    # --- Tencent: TC3-HMAC-SHA256 over the canonical request ---------------------------------------------------
    def tencent(self, headers, body: bytes) -> dict:
        auth = headers.get("Authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(item.strip().split("=", 1) for item in rest.split(","))
            key_id, day, service, terminator = parts["Credential"].split("/")
        except ValueError:
            return {"Response": {"Error": {"Code": "AuthFailure.InvalidAuthorization", "Message": auth}}}
        timestamp = headers.get("X-TC-Timestamp", "")
        signed = parts["SignedHeaders"]
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed.split(";"))
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
        scope = f"{day}/{service}/{terminator}"
        string = f"{algorithm}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

        def mac(key, msg):
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        signing = mac(mac(mac(("TC3" + self.secret).encode(), day), service), "tc3_request")
        expected = hmac.new(signing, string.encode(), hashlib.sha256).hexdigest()
        today = datetime.fromtimestamp(int(timestamp or 0), UTC).strftime("%Y-%m-%d")
        if (not hmac.compare_digest(parts.get("Signature", ""), expected) or key_id != KEY_ID or day != today
                or algorithm != "TC3-HMAC-SHA256" or headers.get("X-TC-Action") != "SendSms"):
            return {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"},
                                 "RequestId": "r"}}
        payload = json.loads(body)
        [phone] = payload["PhoneNumberSet"]
        if phone.removeprefix("+86") in self.unreachable:
            self.refused.append(phone)
            return {"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                                    "Message": "手机号格式错误", "PhoneNumber": phone}]}}
        self.sent.append(Received("tencent", phone, payload["TemplateId"], payload["TemplateParamSet"],
                                  payload["SignName"]))
        return {"Response": {"SendStatusSet": [{"Code": "Ok", "Message": "send success", "PhoneNumber": phone}],
                             "RequestId": "r"}}
