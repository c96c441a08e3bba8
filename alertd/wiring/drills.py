"""Drills, after-action reports and compliance, wired on the database."""

from __future__ import annotations

from dataclasses import dataclass

from alertd.adapters.compliance.loader import load_requirements
from alertd.adapters.db.drills import SqlDrillStore
from alertd.adapters.db.engine import Database
from alertd.app.compliance import ComplianceService
from alertd.app.drills import DrillService
from alertd.app.ports import Clock, Store
from alertd.app.reports import ReportService
from alertd.app.service import AlertService
from alertd.settings import Settings


@dataclass(frozen=True)
class DrillServices:
    drills: DrillService
    reports: ReportService
    compliance: ComplianceService


def drill_services(
    db: Database, settings: Settings, *, store: Store, alerts: AlertService, clock: Clock
) -> DrillServices:
    """Raises RequirementsError or ValueError when the drill requirements do not load or
    have no entry for `ALERTD_COMPLIANCE_STATE`."""
    plans = SqlDrillStore(db)
    return DrillServices(
        drills=DrillService(store=plans, alerts=alerts, clock=clock),
        reports=ReportService(store=store, clock=clock),
        compliance=ComplianceService(
            store=store,
            drills=plans,
            rules=load_requirements(settings.compliance_file),
            state=settings.compliance_state,
            clock=clock,
        ),
    )
