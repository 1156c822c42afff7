"""Opening a row of the page-state table: in process (content tests) or in a real browser (walk, gallery).

Both start from a world seeded by `tests.support.world` and use the same cookies: the language, and the
session of whoever looks at the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from registry.domain.vocabulary import Language
from registry.web.console import CONSOLE_COOKIE
from registry.web.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from tests.support.page_states import PageState
from tests.support.world import World


def cookies_for(row: PageState, world: World, language: Language) -> dict[str, str]:
    cookies: dict[str, str] = {LANGUAGE_COOKIE: language}
    if row.who == "holder":
        cookies[SESSION_COOKIE] = world.sessions["holder"]
    elif row.who in ("agent", "admin"):
        cookies[CONSOLE_COOKIE] = world.sessions[row.who]
    return cookies


Fields = dict[str, str | list[str]]


@dataclass(frozen=True)
class Visit:
    """Where to go, then which forms to post where, in order. Each form's fields are made from the page
    it is posted from, as a person reads what to type there (an authenticator's key, say)."""

    path: str
    posts: list[tuple[str, Callable[[str], Fields]]]


def visit(row: PageState, world: World, values: dict[str, str], now: datetime) -> Visit:
    """`now` is the site's time (a frozen clock in process, the real one behind `serve`)."""
    assert row.path is not None, f"{row.id} is not a page"
    values = {**values, "now": str(now.timestamp())}
    path = row.path(world, values)
    posts: list[tuple[str, Callable[[str], Fields]]] = []
    if row.first is not None:
        first = row.first
        posts.append((path, lambda page: first(world, {**values, "page": page})))
    if row.form is not None:
        form, target = row.form, (row.post_to or row.path)(world, values)
        posts.append((target, lambda page: form(world, {**values, "page": page})))
    return Visit(path, posts)


# In a browser: fill the form that posts to `target` as a person would (text, choices, ticks), then press
# its button (the one the form names, if it names one). Fields the page does not have are an error.
FILL_AND_SUBMIT = """
([target, fields]) => {
  const forms = [...document.querySelectorAll('form')].filter(
    f => new URL(f.getAttribute('action') || '', location.href).pathname === target);
  if (!forms.length) throw new Error('no form posts to ' + target);
  const pressed = Object.entries(fields).find(([name, value]) =>
    forms.some(f => f.querySelector(`button[name="${name}"][value="${value}"]`)));
  const form = pressed
    ? forms.find(f => f.querySelector(`button[name="${pressed[0]}"][value="${pressed[1]}"]`))
    : forms[0];
  for (const [name, value] of Object.entries(fields)) {
    if (pressed && name === pressed[0]) continue;
    const values = Array.isArray(value) ? value : [value];
    const inputs = [...form.querySelectorAll(`[name="${name}"]`)];
    if (!inputs.length) throw new Error('the form has no field ' + name);
    for (const input of inputs) {
      if (input.type === 'checkbox' || input.type === 'radio') input.checked = values.includes(input.value);
      else input.value = values[0];
    }
  }
  const button = pressed
    ? form.querySelector(`button[name="${pressed[0]}"][value="${pressed[1]}"]`)
    : form.querySelector('button[type="submit"], button:not([type]), input[type="submit"]');
  form.requestSubmit(button || undefined);
}
"""
