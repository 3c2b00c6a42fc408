"""Email HTML made safe to show, as a careful mail client would: no scripts, no event handlers,
no styles, no forms, no frames; links keep only http(s)/mailto targets and open with no referrer;
images are not shown at all (a remote image tells the sender the mail was read), only counted."""
from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "i", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "u", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "abbr": {"title"}}
DROP_WITH_CONTENT = {"script", "style", "title", "head", "noscript", "template", "iframe", "object", "textarea",
                     "select", "svg", "math"}
IMG_RE = re.compile(r"<img\b", re.I)


@dataclass
class SafeHtml:
    html: str
    blocked_images: int


def sanitize_email_html(html: str) -> SafeHtml:
    clean = nh3.clean(html or "", tags=TAGS, attributes=ATTRIBUTES, clean_content_tags=DROP_WITH_CONTENT,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
                      strip_comments=True, set_tag_attribute_values={"a": {"target": "_blank"}})
    return SafeHtml(clean, len(IMG_RE.findall(html or "")))
