"""The terms of the invite programme, from the settings, as sentences in a reader's language."""

from __future__ import annotations

from imgapp.core import formatting, i18n
from imgapp.core.settings import get_settings


def reward_text(lang: str) -> str:
    """What an inviter receives per rewarded invitee."""
    settings = get_settings()
    credits = formatting.count(settings.invite_reward_credits, lang=lang)
    percent = settings.invite_reward_percent
    if settings.invite_reward_credits and percent:
        return i18n.text("invite.reward_both", lang, credits=credits, percent=percent)
    if percent:
        return i18n.text("invite.reward_percent", lang, percent=percent)
    return i18n.text("invite.reward_fixed", lang, credits=credits)


def offer_text(lang: str) -> str:
    """What joining through an invite brings the invitee (the poster's line)."""
    welcome = get_settings().invite_welcome_credits
    if welcome:
        return i18n.text("invite.offer_welcome", lang, credits=formatting.count(welcome, lang=lang))
    return i18n.text("invite.offer", lang)


def welcome_text(lang: str) -> str:
    """What the invitee gets on joining, told to the inviter ('' without a welcome bonus)."""
    welcome = get_settings().invite_welcome_credits
    if not welcome:
        return ""
    return i18n.text("invite.friend_welcome", lang, credits=formatting.count(welcome, lang=lang))


def caps_text(lang: str) -> str:
    """The caps on an inviter's rewards ('' when there are none)."""
    settings = get_settings()
    day, total = settings.invite_cap_per_day, settings.invite_cap_total
    if day and total:
        return i18n.text("invite.caps_both", lang, day=day, total=total)
    if day:
        return i18n.text("invite.caps_day", lang, day=day)
    if total:
        return i18n.text("invite.caps_total", lang, total=total)
    return ""
