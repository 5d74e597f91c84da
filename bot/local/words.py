"""The console page's own words (its labels, hints and empty states), in every language the bot speaks.

The bot's messages in the page are said in each person's language by the core; these are the words
around them, which `index.html` and `console.js` draw. They live here, in Python, so that pybabel
extracts them with the rest (babel.cfg), and `GET /console/api/words` gives the page them in the
language of the person it acts as. The English in `index.html` is the page without JavaScript and
must stay equal to the English here (tests/bot/local/test_console_words.py checks it).

A word with a `%(name)s` placeholder is sent as it is, unfilled: the page puts a command (always
English, `/pmo value`) or another element in its place as a DOM node, so a translation may move it
anywhere in its sentence and no translated text is ever parsed as HTML.
"""

from __future__ import annotations

from handlers.i18n import Msg, _, say

STAFF = _("PMO staff")

WORDS: dict[str, Msg] = {
    # the top bar
    "page_title": _("PMO value bot · local console"),
    "local_console": _("local console"),
    "who_are_you": _("Who are you?"),
    "add_yourself_link": _("+ Add yourself"),
    "views": _("Views"),
    "direct_messages": _("Direct messages"),
    "dms": _("DMs"),
    "channels": _("Channels"),
    "home": _("🏠 Home"),
    "value_report": _("📊 Value report"),
    "value_report_short": _("📊 Value"),
    "help": _("❓ Help"),
    # who you are: the picker's groups and the badges
    "group_staff": STAFF,
    "group_sponsors": _("Sponsors"),
    "group_others": _("Others"),
    "role_admin": _("admin"),
    "role_staff": STAFF,
    "role_member": _("member"),
    "role_sponsor": _("sponsor"),
    # adding yourself
    "add_yourself": _("Add yourself"),
    "add_explained": _(
        "You join as a plain member. An admin makes you PMO staff with %(command)s; "
        "a project with you as sponsor makes you a sponsor."
    ),
    "name": _("Name"),
    "email": _("E-mail"),
    "cancel": _("Cancel"),
    "add_me": _("Add me"),
    # the direct messages
    "command_or_message": _("Command or message"),
    "say_placeholder": _("%(command)s — or reply to the bot"),
    "send": _("Send"),
    "dm_hint": _(
        "Start with %(pmo)s for a command (%(value)s, %(checkin)s); "
        "anything else is a direct message to the bot."
    ),
    "staff_empty_title": _("Nothing here yet — try the bot as PMO staff"),
    "staff_empty_project": _("Add a project and its sponsor: %(command)s"),
    "staff_empty_checkin": _("Ask the sponsor how it tastes: %(command)s"),
    "staff_empty_answer": _("Pick the sponsor under %(who)s and answer."),
    "staff_empty_report": _("Come back and press %(button)s."),
    "empty_title": _("No messages from the bot yet"),
    "empty_text": _(
        "When the PMO sends you a check-in — “How does your project taste?” — it appears here. "
        "Type %(command)s to see what you can ask."
    ),
    # the channels
    "channel": _("Channel"),
    "command_in_channel": _("Command in this channel"),
    "run": _("Run"),
    "channel_hint": _(
        "Commands here run in the channel: %(alerts)s sends sour tastes and painful pain points to it. "
        "Until a channel is chosen, alerts go to the admins by direct message. "
        "%(digest)s makes it the value digest's channel."
    ),
    "channel_empty": _("Nothing in %(channel)s yet"),
    "no_channel_posts": _("No channel posts yet"),
    "channel_empty_text": _(
        "Alerts (sour tastes, pain points of impact 4–5) go to the admins by direct message until a "
        "channel is chosen. As PMO staff, run %(alerts)s below to choose this one, and %(digest)s to "
        "receive the value digest in it."
    ),
    # around the bot's messages
    "pmo_bot": _("PMO bot"),
    "edited": _("edited"),
    "updated_at": _("updated %(time)s"),
    "only_you": _("only you can see this"),
    "chart": _("Chart"),
    "download": _("⬇ Download %(file)s"),
    "choose": _("Choose…"),
    # when the server does not answer (console.js also knows these two in English, for a page
    # whose words could not be fetched at all)
    "not_answering": _("The bot is not answering. Is the server still running?"),
    "server_answered": _("The server answered %(status)s."),
}


def words_in(language: str) -> dict[str, str]:
    """Every word of the page in `language`, placeholders left for the page to fill."""
    return {key: say(text, language) for key, text in WORDS.items()}
