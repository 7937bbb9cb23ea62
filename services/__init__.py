"""The workflows every caller shares (handlers, scheduled jobs, the command line): applying a
decision, moderation, welcomes, notices, alerts, reports, digests, schedules; and the runtime
services they run with (`services.runtime`). They take the unit of work and the runtime, never
an Update or a context."""
