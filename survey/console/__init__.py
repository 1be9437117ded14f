"""The staff console: agencies, counters, posters, receipt links, accounts, reviews, audit log.

Every view asks survey.permissions for what it shows or changes; writes go through
survey.console.operations, reads through survey.console.queries. The package itself imports
nothing: its view modules are attached by survey.console.views, which the app factory imports,
so that a module elsewhere can use the console's operations or audit log without the views
(the kiosk's devices record to the audit log, and the console's counter page lists kiosks).
"""
