"""Decoding Gmail's message payloads: text/plain preferred, HTML converted to text, attachments
listed. Gmail returns each part's body already transfer-decoded, base64url-encoded."""
from __future__ import annotations

import base64
import re
from email.message import Message
from html.parser import HTMLParser
from typing import Any, Optional

_BLOCK = {"p", "div", "br", "tr", "table", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
          "blockquote", "pre", "hr", "section", "article", "header", "footer"}
_SKIP = {"script", "style", "head", "title", "noscript"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.href: Optional[str] = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[image: {alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip()
            if self.href.startswith(("http:", "https:", "mailto:")) and self.href != text:
                self.out.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.href is not None:
            self.link_text.append(data)
        self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.out)
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def b64decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def headers(part: dict[str, Any]) -> dict[str, str]:
    """Header name (lower case) → value; the first occurrence wins."""
    out: dict[str, str] = {}
    for h in part.get("headers", []) or []:
        out.setdefault(h.get("name", "").lower(), h.get("value", ""))
    return out


def _charset(part: dict[str, Any]) -> str:
    msg = Message()
    msg["Content-Type"] = headers(part).get("content-type", "text/plain")
    return msg.get_content_charset() or "utf-8"


def _decode_text(part: dict[str, Any]) -> str:
    data = (part.get("body") or {}).get("data")
    if not data:
        return ""
    raw = b64decode(data)
    try:
        return raw.decode(_charset(part), errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _is_attachment(part: dict[str, Any]) -> bool:
    disposition = headers(part).get("content-disposition", "").lower()
    mime = (part.get("mimeType") or "").lower()
    return bool(part.get("filename")) or disposition.startswith("attachment") or not (
        mime.startswith("multipart/") or mime in ("text/plain", "text/html"))


def _attachment(part: dict[str, Any]) -> dict[str, Any]:
    body = part.get("body") or {}
    mime = (part.get("mimeType") or "application/octet-stream").lower()
    cid = headers(part).get("content-id", "").strip("<> ")
    item = {"filename": part.get("filename") or "", "mime_type": mime, "size": body.get("size", 0),
            "attachment_id": body.get("attachmentId"), "part_id": part.get("partId")}
    if cid:
        item["content_id"] = cid
    if mime.startswith("image/"):
        item["image"] = True
    return item


class Decoded:
    def __init__(self) -> None:
        self.has_html = False
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[dict[str, Any]] = []

    @property
    def body(self) -> str:
        if self.plain:
            return "\n\n".join(p.strip("\n") for p in self.plain)
        return "\n\n".join(html_to_text(h) for h in self.html)


def decode(payload: dict[str, Any]) -> Decoded:
    out = Decoded()
    _walk(payload or {}, out)
    out.has_html = _contains(payload or {}, "text/html")
    return out


def _walk(part: dict[str, Any], out: Decoded) -> None:
    mime = (part.get("mimeType") or "").lower()
    children = part.get("parts") or []
    if mime == "multipart/alternative" and children:
        chosen = _pick_alternative(children)
        for child in children:
            if child is chosen:
                _walk(child, out)
            else:  # the other renderings: only their attachments count (e.g. inline images)
                _collect_attachments(child, out)
        return
    if mime.startswith("multipart/"):
        for child in children:
            _walk(child, out)
        return
    if _is_attachment(part):
        out.attachments.append(_attachment(part))
    elif mime == "text/html":
        out.html.append(_decode_text(part))
    else:
        out.plain.append(_decode_text(part))


def _contains(part: dict[str, Any], mime: str) -> bool:
    if (part.get("mimeType") or "").lower() == mime and not _is_attachment(part):
        return True
    return any(_contains(c, mime) for c in part.get("parts") or [])


def _pick_alternative(children: list[dict[str, Any]]) -> dict[str, Any]:
    for mime in ("text/plain", "text/html"):
        for child in children:
            if _contains(child, mime):
                return child
    return children[-1]


def _collect_attachments(part: dict[str, Any], out: Decoded) -> None:
    if part.get("parts"):
        for child in part["parts"]:
            _collect_attachments(child, out)
    elif _is_attachment(part):
        out.attachments.append(_attachment(part))
