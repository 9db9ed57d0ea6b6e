"""What every full screen shares: localized bindings from the action registry, and the
ticket actions (claim, reply, ...) that work on "the ticket in front of the agent"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.screen import Screen

from ronda.model import Status, Ticket
from ronda.saved_replies import field_values
from ronda.tui.actions import bindings
from ronda.tui.data import QueueSnapshot
from ronda.tui.i18n import Catalogue
from ronda.tui.screens.compose import Composed, ComposeScreen, Draft
from ronda.tui.screens.prompts import LogTimePrompt, ReprioritizePrompt, TextPrompt

if TYPE_CHECKING:
    from ronda.tui.app import RondaApp

S = TypeVar("S", bound=type)


@cache
def localized(cls: S, lang: str) -> S:
    """`cls` with its bindings described in `lang` (cached: one subclass per language).

    Bindings are class-level in Textual; the language is chosen at start, so each screen
    class gets a subclass whose BINDINGS come from the registry in that language.
    """
    kind = cls.KIND
    return type(
        cls.__name__,
        (cls,),
        {"BINDINGS": bindings(kind, Catalogue(lang)), "__module__": cls.__module__},
    )


class RondaScreen(Screen):
    """A full screen of the app. `KIND` picks its scopes in `ronda.tui.actions.SCREEN_SCOPES`."""

    KIND: ClassVar[str] = ""

    @property
    def ronda(self) -> RondaApp:
        return self.app  # type: ignore[return-value]

    @property
    def t(self) -> Catalogue:
        return self.ronda.t

    def tick(self, now: datetime) -> None:
        """Called every second on the screen in front; repaint clocks."""

    def data_changed(self, snapshot: QueueSnapshot) -> None:
        """Called with every fresh queue snapshot (the store changed or the filter did)."""


class TicketActions(RondaScreen):
    """A screen with ticket actions on the ticket it names (`target_ticket`).

    Every change goes through `ronda.tickets.Desk` with the version the screen shows: if
    another agent changed the ticket meanwhile, the desk refuses (`StaleTicket`) and the app
    shows the fresh state instead of overwriting anything.
    """

    def target_ticket(self) -> Ticket | None:
        raise NotImplementedError

    def _with_ticket(self, then: Callable[[Ticket], None]) -> None:
        ticket = self.target_ticket()
        if ticket is None:
            self.ronda.say(self.t("msg.no_ticket"), "warning")
            return
        then(ticket)

    def action_claim(self) -> None:
        app: RondaApp = self.ronda
        self._with_ticket(
            lambda tk: app.perform(
                lambda desk: desk.claim(tk.id, app.agent, tk.version),
                app.t("done.claim", case=tk.case_number),
            )
        )

    def action_assign(self) -> None:
        app: RondaApp = self.ronda

        def ask(tk: Ticket) -> None:
            def done(who: str | None) -> None:
                if who is None:
                    return
                who_or_none = app.declared_agent(who) if who.strip() else None
                app.perform(
                    lambda desk: desk.assign(tk.id, who_or_none, app.agent, tk.version),
                    app.t("done.assign", case=tk.case_number, who=who_or_none or "-"),
                )

            # With [[agents]] in the config only they are offered and accepted.
            declared = tuple(a.name for a in app.agents)
            app.with_directory(
                lambda d: app.push_screen(
                    TextPrompt(
                        app.t("prompt.assign", case=tk.case_number),
                        placeholder=app.t("prompt.assign_hint"),
                        value=tk.assignee or "",
                        suggestions=declared or (app.agent, *d.agents),
                        required=False,
                        validate=app.unknown_agent,
                    ),
                    done,
                )
            )

        self._with_ticket(ask)

    def _text_action(
        self,
        prompt_key: str,
        run: Callable[[RondaApp, Ticket, str], Ticket],
        done_key: str,
        required: bool = True,
        note: Callable[[Ticket], str] | None = None,
    ) -> None:
        app: RondaApp = self.ronda

        def ask(tk: Ticket) -> None:
            def done(text: str | None) -> None:
                if text is None:
                    return
                app.perform(lambda desk: run(app, tk, text), app.t(done_key, case=tk.case_number))

            app.push_screen(
                TextPrompt(
                    app.t(prompt_key, case=tk.case_number),
                    required=required,
                    note=note(tk) if note is not None else None,
                ),
                done,
            )

        self._with_ticket(ask)

    def _open_editor(self, kind: str, tk: Ticket) -> None:
        """Open the editor for a reply or a note on `tk`, with the ticket's draft if any.

        The draft is kept (per ticket, for the session) when the agent closes the editor,
        and when the desk refuses the change (a stale version: the agent reads the fresh
        state, opens the editor again and sends); it goes once the change is recorded."""
        app: RondaApp = self.ronda
        key = (tk.id, kind)
        reply = kind == "reply"
        to, why = app.reply_recipient(tk) if reply else (None, "")
        if not reply:
            note = None
        elif to is None:
            note = app.t("prompt.reply_recorded_only", why=app.t(why))
        else:
            note = app.t("prompt.reply_to", address=to)
        profile = app.agent_profile
        signature = None
        if reply and to is not None:
            signature = (profile.signature if profile else None) or app.agent

        def done(result: Composed | None) -> None:
            if result is None:
                return
            if not result.send:
                if result.text.strip():
                    app.keep_draft(key, Draft(result.text))
                elif key in app.drafts:
                    app.keep_draft(key, None)
                self.refresh_draft()
                return
            text = result.text
            app.keep_draft(key, Draft(text))  # until the desk has it

            def sent(_: Ticket) -> None:
                if app.drafts.get(key) == Draft(text):
                    app.keep_draft(key, None)
                self.refresh_draft()

            def refused(exc: Exception) -> None:
                app.keep_draft(key, Draft(text, why=app.refusal(exc)))
                kept = "done.draft_kept" if reply else "done.note_draft_kept"
                app.say(app.t(kept, case=tk.case_number), "warning")
                self.refresh_draft()

            if not reply:
                # A note is additive: the desk takes it without a version check.
                change = lambda desk: desk.note(tk.id, app.agent, text)  # noqa: E731
                message = app.t("done.note", case=tk.case_number)
            elif to is not None and app.mail_reply is not None:
                mail_reply = app.mail_reply
                change = lambda desk: mail_reply(desk, tk, app.agent, text)  # noqa: E731
                message = app.t("done.reply_queued", case=tk.case_number, address=to)
            else:
                change = lambda desk: desk.respond(tk.id, app.agent, text, tk.version)  # noqa: E731
                message = app.t("done.reply", case=tk.case_number)
            app.perform(change, message, then=sent, failed=refused)

        app.push_screen(
            ComposeScreen(
                app.t("editor.reply" if reply else "editor.note", case=tk.case_number),
                app.t,
                note=note,
                signature=signature,
                draft=app.drafts.get(key),
                saved=app.saved_replies() if reply else (),
                values=field_values(tk),
                send_label=app.t("editor.send" if reply else "editor.save"),
                keys=app.t("editor.keys" if reply else "editor.keys_note"),
            ),
            done,
        )

    def refresh_draft(self) -> None:
        """A draft was kept or dropped: screens that show it repaint (the ticket screen)."""

    def action_reply(self) -> None:
        """Reply to the customer: by mail to the case's requester when the desk can mail
        (the editor names the address before the agent writes), else recorded only, and the
        editor says why. The mail is queued with the reply; the case shows when it is sent."""
        self._with_ticket(lambda tk: self._open_editor("reply", tk))

    def action_note(self) -> None:
        self._with_ticket(lambda tk: self._open_editor("note", tk))

    def action_public_update(self) -> None:
        from ronda.tui.public_update import ask_public_update  # its own module: kept apart

        ask_public_update(self)

    def action_pending(self) -> None:
        """Pending customer (the SLA pauses) and back to open (it resumes)."""
        app: RondaApp = self.ronda

        def toggle(tk: Ticket) -> None:
            back = tk.status == Status.PENDING_CUSTOMER
            status = Status.OPEN if back else Status.PENDING_CUSTOMER
            app.perform(
                lambda desk: desk.set_status(tk.id, status, app.agent, tk.version),
                app.t("done.resumed" if back else "done.pending", case=tk.case_number),
            )

        self._with_ticket(toggle)

    def action_resolve(self) -> None:
        self._text_action(
            "prompt.resolve",
            lambda app, tk, text: app.desk.resolve(
                tk.id, app.agent, tk.version, reason=text.strip() or None
            ),
            "done.resolve",
            required=False,
        )

    def action_reopen(self) -> None:
        self._text_action(
            "prompt.reopen",
            lambda app, tk, text: app.desk.reopen(
                tk.id, app.agent, tk.version, reason=text.strip() or None
            ),
            "done.reopen",
            required=False,
        )

    def action_reprioritize(self) -> None:
        app: RondaApp = self.ronda

        def ask(tk: Ticket) -> None:
            def done(answer: tuple | None) -> None:
                if answer is None:
                    return
                priority, impact, reason = answer
                app.perform(
                    lambda desk: desk.reprioritize(
                        tk.id,
                        app.agent,
                        tk.version,
                        priority=priority,
                        impact=impact,
                        reason=reason,
                    ),
                    app.t("done.reprioritize", case=tk.case_number),
                )

            app.push_screen(ReprioritizePrompt(tk, app.t), done)

        self._with_ticket(ask)

    def action_billable(self) -> None:
        app: RondaApp = self.ronda

        def toggle(tk: Ticket) -> None:
            app.perform(
                lambda desk: desk.set_billable(tk.id, not tk.billable, app.agent, tk.version),
                app.t(
                    "done.billable" if not tk.billable else "done.not_billable",
                    case=tk.case_number,
                ),
            )

        self._with_ticket(toggle)

    def action_log_time(self) -> None:
        app: RondaApp = self.ronda

        def ask(tk: Ticket) -> None:
            def done(answer: tuple | None) -> None:
                if answer is None:
                    return
                seconds, note = answer
                app.perform(
                    lambda desk: desk.log_time(tk.id, app.agent, seconds, note),
                    app.t("done.log_time", case=tk.case_number),
                )

            app.push_screen(LogTimePrompt(tk, app.t), done)

        self._with_ticket(ask)

    def action_link_parent(self) -> None:
        app: RondaApp = self.ronda

        def ask(tk: Ticket) -> None:
            def done(text: str | None) -> None:
                if text is None:
                    return
                parent = text.strip() or None
                app.perform(
                    lambda desk: desk.link_parent(tk.id, parent, app.agent, tk.version),
                    app.t("done.link", case=tk.case_number, parent=parent or "-"),
                )

            app.push_screen(
                TextPrompt(
                    app.t("prompt.link", case=tk.case_number),
                    placeholder=app.t("prompt.link_hint"),
                    required=False,
                    validate=app.valid_case_or_empty,
                ),
                done,
            )

        self._with_ticket(ask)
