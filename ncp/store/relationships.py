"""Who may open a record: therapeutic relationships, the patient's rules, break the glass.

A relationship (a liberal visit, an institutional admission, the referring-doctor declaration)
opens the record to a professional for a while; the patient's rules grant, block or name a
professional for restricted documents (a block wins over any relationship); an emergency
access opens it for :data:`EMERGENCY_WINDOW`, limited and alerted. The referring doctor's
worklist is :mod:`ncp.store.worklist`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from ncp.store import policy
from ncp.store.access_log import AccessLogRecords, new_alert, new_notice
from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.identity import PatientInfo, _patient_info
from ncp.store.models import (
    AccessRule,
    EmergencyAccess,
    Organisation,
    Patient,
    Professional,
    TherapeuticRelationship,
)
from ncp.store.policy import Actor, Decision, Facts, Power
from ncp.store.record_service import _outcome
from ncp.store.sealed import binding, on_reseal, reseal_plaintext, seal_obj
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    AccessRuleKind,
    ActorKind,
    DspState,
    EmergencyReason,
    Outcome,
    RelationshipSource,
)


def emergency_aad(patient_id: int, professional_id: int, reason_code: str) -> bytes:
    """An emergency access's binding: whose record, who declared it, under which code."""
    return binding("ncp-emergency-v1", patient_id, professional_id, reason_code)


#: How long a "break the glass" access stays open.
EMERGENCY_WINDOW = dt.timedelta(hours=12)
#: Break-the-glass declarations one professional may make in a rolling window; past it the
#: record stays closed and the data protection officer is alerted (issue 14, finding 12).
EMERGENCY_LIMIT = 3
EMERGENCY_LIMIT_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class RelationshipInfo:
    professional_id: int
    registry_id: str
    name: str
    profession: str
    organisation: str | None
    source: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    id: int = 0


#: A liberal visit opens the record to the professional for this long.
VISIT_PERIOD = dt.timedelta(days=90)
#: After an institutional stay the care team keeps access this long (letters, results).
AFTER_DISCHARGE = dt.timedelta(days=30)


class RelationshipRecords(AccessLogRecords):
    """Declaring and ending relationships, the patient's rules, emergency access."""

    def add_relationship(
        self,
        *,
        patient_id: int,
        professional_id: int,
        source: str,
        valid_from: dt.datetime | None = None,
        valid_to: dt.datetime | None = None,
    ) -> None:
        """Record a therapeutic relationship (from an admission, a visit or a declaration)."""
        try:
            source_value = RelationshipSource(source).value
        except ValueError:
            raise InvalidInput(f"unknown relationship source {source!r}") from None
        start = valid_from or self._clock()
        if valid_to is not None and valid_to <= start:
            raise InvalidInput("a relationship must end after it starts")
        with self._tx() as s:
            self._patient(s, patient_id)
            self._professional(s, professional_id)
            s.add(TherapeuticRelationship(
                patient_id=patient_id, professional_id=professional_id, valid_from=start,
                valid_to=valid_to, source=source_value))

    def set_rule(self, actor: Actor, patient_id: int, professional_id: int,
                 kind: AccessRuleKind | str, active: bool = True) -> None:
        """Grant, block or name-for-restricted a professional (``active=False`` revokes)."""
        try:
            rule = AccessRuleKind(kind)
        except ValueError:
            raise InvalidInput(f"unknown rule {kind!r}") from None
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            prof = self._professional(s, professional_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient))
            verb = rule.value if active else f"revoke {rule.value}"
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      f"{verb}: {prof.display_name}", decision.context, _outcome(decision),
                      detail=decision.reason)
            self._enforce(s, decision)
            current = s.scalars(select(AccessRule).where(
                AccessRule.patient_id == patient_id, AccessRule.professional_id == professional_id,
                AccessRule.kind == rule.value, AccessRule.revoked_at.is_(None))).all()
            if active and not current:
                s.add(AccessRule(patient_id=patient_id, professional_id=professional_id,
                                 kind=rule.value, created_at=now))
            if not active:
                for r in current:
                    r.revoked_at = now

    def rules(self, actor: Actor, patient_id: int) -> list[tuple[int, str, str]]:
        """The patient's active rules: (professional id, professional name, kind)."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._log(s, actor, patient_id, AccessAction.READ, "access rules",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            rows = s.execute(select(AccessRule.professional_id, Professional.given_name,
                                    Professional.family_name, AccessRule.kind)
                             .join(Professional, Professional.id == AccessRule.professional_id)
                             .where(AccessRule.patient_id == patient_id,
                                    AccessRule.revoked_at.is_(None))
                             .order_by(AccessRule.id)).all()
            return [(r[0], f"{r[1]} {r[2]}", r[3]) for r in rows]

    def declare_emergency(self, actor: Actor, patient_id: int, reason: str,
                          reason_code: EmergencyReason | str = EmergencyReason.OTHER
                          ) -> dt.datetime:
        """Break the glass: a professional opens a record without a relationship, for a while.

        Allowed unless the patient blocked this professional or closed the DSP, and at most
        :data:`EMERGENCY_LIMIT` times per professional in :data:`EMERGENCY_LIMIT_WINDOW` (the
        next one is refused and raises an alert). Each declaration is flagged in the access
        log, recorded with a reason code, alerts the data protection officer and leaves the
        patient a notice. Returns when the emergency access expires (a second declaration while
        one is running returns the running one's end and counts nothing).
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional may declare an emergency access")
        if len(reason.strip()) < 5:
            raise InvalidInput("an emergency access needs a stated reason")
        try:
            code = EmergencyReason(reason_code)
        except ValueError:
            raise InvalidInput(f"unknown emergency reason code {reason_code!r}") from None
        now = self._clock()
        text_reason = reason.strip()[:300]
        ring = self._keys.current()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            facts = self._facts(s, actor, patient)
            probe = Facts(patient_id=facts.patient_id, dsp_open=facts.dsp_open,
                          blocked=facts.blocked, emergency=True)
            decision = policy.record_access(actor, probe)
            context = AccessContext.EMERGENCY
            running = None
            if decision:
                # One professional's declarations are counted one at a time (PostgreSQL: the
                # row lock; SQLite transactions are serialised anyway).
                s.execute(select(Professional.id).where(Professional.id == actor.professional_id)
                          .with_for_update())
                running = s.scalar(select(EmergencyAccess.expires_at).where(
                    EmergencyAccess.patient_id == patient_id,
                    EmergencyAccess.professional_id == actor.professional_id,
                    EmergencyAccess.started_at <= now, EmergencyAccess.expires_at > now)
                    .order_by(EmergencyAccess.expires_at.desc()).limit(1))
                recent = s.scalar(select(func.count()).select_from(EmergencyAccess).where(
                    EmergencyAccess.professional_id == actor.professional_id,
                    EmergencyAccess.started_at > now - EMERGENCY_LIMIT_WINDOW)) or 0
                if running is None and recent >= EMERGENCY_LIMIT:
                    decision = Decision(False, f"emergency limit reached ({EMERGENCY_LIMIT} in "
                                        f"{EMERGENCY_LIMIT_WINDOW}); the data protection "
                                        "officer has been alerted", context)
                    s.add(new_alert(ring, now, "emergency-limit", patient_id,
                                    actor.professional_id,
                                    f"refused: {code.value}: {text_reason}"))
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      "emergency access declared", context, _outcome(decision),
                      # a refused attempt keeps what the professional stated, beside why it
                      # was refused: the patient's log shows both (issue 15 item 16)
                      detail=f"{code.value}: {text_reason}" if decision else
                      f"{decision.reason} | {code.value}: {text_reason}")
            self._enforce(s, decision)
            if running is not None:
                return running
            expires = now + EMERGENCY_WINDOW
            access = EmergencyAccess(patient_id=patient_id, professional_id=actor.professional_id,
                                     reason_code=code.value, started_at=now,
                                     expires_at=expires)
            seal_obj(ring, access, emergency_aad(patient_id, actor.professional_id, code.value),
                     {"reason": reason.strip()[:400]})
            s.add(access)
            who = f"{actor.name or 'a professional'}" + \
                (f" ({actor.organisation})" if actor.organisation else "")
            s.add(new_alert(ring, now, "emergency-access", patient_id, actor.professional_id,
                            f"{code.value}: {text_reason}"))
            s.add(new_notice(ring, patient_id, now, "emergency-access",
                             f"{who} opened your record in an emergency "
                             f"({code.value}): {text_reason}"))
            return expires

    def patients_of(self, actor: Actor) -> list[PatientInfo]:
        """"My patients": open DSPs where the professional has a current therapeutic
        relationship or the patient's grant, and no block (one search row in the log).

        Three queries whatever the number of patients; the policy still decides each one.
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional has patients")
        now = self._clock()
        with self._tx() as s:
            related = set(s.scalars(select(TherapeuticRelationship.patient_id).where(
                TherapeuticRelationship.professional_id == actor.professional_id,
                TherapeuticRelationship.valid_from <= now,
                or_(TherapeuticRelationship.valid_to.is_(None),
                    TherapeuticRelationship.valid_to > now))))
            rules: dict[int, set[str]] = {}
            for pid, kind in s.execute(select(AccessRule.patient_id, AccessRule.kind).where(
                    AccessRule.professional_id == actor.professional_id,
                    AccessRule.revoked_at.is_(None))):
                rules.setdefault(pid, set()).add(kind)
            granted = {pid for pid, kinds in rules.items() if AccessRuleKind.GRANT.value in kinds}
            candidates = s.scalars(select(Patient).where(Patient.id.in_(related | granted))
                                   .order_by(Patient.family_name, Patient.given_name)).all()
            allowed = []
            for p in candidates:
                kinds = rules.get(p.id, set())
                facts = Facts(
                    patient_id=p.id, dsp_open=p.dsp_state == DspState.OPEN.value,
                    relationship=p.id in related, granted=p.id in granted,
                    blocked=AccessRuleKind.BLOCK.value in kinds,
                    named_for_restricted=AccessRuleKind.RESTRICTED.value in kinds,
                    referring_doctor=p.referring_doctor_id == actor.professional_id)
                if policy.record_access(actor, facts):
                    allowed.append(p)
            self._log(s, actor, None, AccessAction.SEARCH, "my patients",
                      AccessContext.TREATMENT, Outcome.SUCCESS,
                      detail=f"{len(allowed)} patients listed")
            return [_patient_info(p) for p in allowed]

    def relationships(self, actor: Actor, patient_id: int) -> list[RelationshipInfo]:
        """The patient's current therapeutic relationships (for the patient or their helper)."""
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._log(s, actor, patient_id, AccessAction.READ, "therapeutic relationships",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            org = aliased(Organisation)
            rows = s.execute(
                select(Professional.id, Professional.registry_id, Professional.given_name,
                       Professional.family_name, Professional.profession, org.name,
                       TherapeuticRelationship.source, TherapeuticRelationship.valid_from,
                       TherapeuticRelationship.valid_to, TherapeuticRelationship.id)
                .join(TherapeuticRelationship,
                      TherapeuticRelationship.professional_id == Professional.id)
                .outerjoin(org, org.id == Professional.organisation_id)
                .where(TherapeuticRelationship.patient_id == patient_id,
                       TherapeuticRelationship.valid_from <= now,
                       or_(TherapeuticRelationship.valid_to.is_(None),
                           TherapeuticRelationship.valid_to > now))
                .order_by(Professional.family_name)).all()
            return [RelationshipInfo(professional_id=r[0], registry_id=r[1],
                                     name=f"{r[2]} {r[3]}", profession=r[4], organisation=r[5],
                                     source=r[6], valid_from=r[7], valid_to=r[8], id=r[9])
                    for r in rows]

    def declare_relationship(self, actor: Actor, patient_id: int,
                             kind: RelationshipSource | str) -> RelationshipInfo:
        """A professional declares the therapeutic relationship a visit or an admission makes.

        A liberal ``visit`` lasts :data:`VISIT_PERIOD`; an institutional ``admission`` lasts
        until the discharge (:meth:`end_relationship`) and :data:`AFTER_DISCHARGE` after it.
        The referring-doctor declaration comes from the insurer, not from the professional.
        The declaration is in the patient's access log; a professional the patient blocked,
        or a closed DSP, is refused (a block wins over any relationship).
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional declares a therapeutic relationship")
        try:
            source = RelationshipSource(kind)
        except ValueError:
            raise InvalidInput(f"unknown relationship kind {kind!r}") from None
        if source is RelationshipSource.REFERRING_DOCTOR:
            raise InvalidInput("the referring-doctor declaration comes from the insurer")
        now = self._clock()
        until = now + VISIT_PERIOD if source is RelationshipSource.VISIT else None
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            facts = self._facts(s, actor, patient)
            refused = "the DSP is closed" if not facts.dsp_open else \
                "blocked by the patient" if facts.blocked else None
            what = f"therapeutic relationship declared: {source.value}"
            self._log(s, actor, patient_id, AccessAction.POLICY, what, AccessContext.TREATMENT,
                      Outcome.DENIED if refused else Outcome.SUCCESS, detail=refused)
            if refused:
                s.commit()  # the refused attempt stays in the log
                raise AccessDenied("access denied")
            row = TherapeuticRelationship(patient_id=patient_id,
                                          professional_id=actor.professional_id,
                                          valid_from=now, valid_to=until, source=source.value)
            s.add(row)
            s.flush()
            prof = self._professional(s, actor.professional_id)
            return RelationshipInfo(
                professional_id=prof.id, registry_id=prof.registry_id,
                name=prof.display_name, profession=prof.profession,
                organisation=prof.organisation.name if prof.organisation else None,
                source=source.value, valid_from=now, valid_to=until, id=row.id)

    def end_relationship(self, actor: Actor, relationship_id: int) -> dt.datetime:
        """End a relationship: the patient (or their helper) ends any of theirs at once; the
        professional ends their own, an admission with the discharge period after it.
        Returns when it ends."""
        now = self._clock()
        with self._tx() as s:
            row = s.get(TherapeuticRelationship, relationship_id)
            if row is None or (row.valid_to is not None and row.valid_to <= now):
                raise NotFound("no such current relationship")
            patient = self._patient(s, row.patient_id)
            if actor.kind is ActorKind.PROFESSIONAL:
                if row.professional_id != actor.professional_id:
                    raise NotFound("no such current relationship")
                ends = now + AFTER_DISCHARGE \
                    if row.source == RelationshipSource.ADMISSION.value else now
                context, what = AccessContext.TREATMENT, f"{row.source} ended (discharge)"
            else:
                decision = policy.manage_record(actor, self._facts(s, actor, patient))
                if not decision:
                    self._log(s, actor, row.patient_id, AccessAction.POLICY,
                              "therapeutic relationship ended", decision.context,
                              Outcome.DENIED, detail=decision.reason)
                    s.commit()
                    raise AccessDenied("access denied")
                ends, context, what = now, decision.context, f"{row.source} ended by the patient"
            if row.valid_to is None or row.valid_to > ends:
                row.valid_to = ends
            self._log(s, actor, row.patient_id, AccessAction.POLICY,
                      f"therapeutic relationship {what}", context, Outcome.SUCCESS)
            return row.valid_to


def own_relationships(records: RelationshipRecords, actor: Actor, patient_id: int
                      ) -> list[RelationshipInfo]:
    """The professional's own current relationships with one patient (for their record page:
    what they declared and can end). Nothing of the record is read, so nothing is logged."""
    if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
        return []
    now = records._clock()
    with records._read() as s:
        rows = s.execute(select(TherapeuticRelationship).where(
            TherapeuticRelationship.patient_id == patient_id,
            TherapeuticRelationship.professional_id == actor.professional_id,
            TherapeuticRelationship.valid_from <= now,
            or_(TherapeuticRelationship.valid_to.is_(None),
                TherapeuticRelationship.valid_to > now))
            .order_by(TherapeuticRelationship.id)).scalars().all()
        return [RelationshipInfo(professional_id=r.professional_id, registry_id="",
                                 name=actor.name or "", profession=str(actor.profession or ""),
                                 organisation=None, source=r.source, valid_from=r.valid_from,
                                 valid_to=r.valid_to, id=r.id) for r in rows]


@on_reseal("emergency_accesses")
def _reseal_emergencies(records: RelationshipRecords, batch: int) -> int:
    return reseal_plaintext(records, EmergencyAccess, ("reason",),
                            lambda r: emergency_aad(r.patient_id, r.professional_id,
                                                    r.reason_code), batch)
