"""What the agency hands its customers each month: the report of a month (uptime per site,
incidents, every case against the contract's response time, hours logged and billable,
what needs attention next), as one self-contained HTML file per customer, optionally a
PDF; and the month's time entries for invoicing.

Modules: period (a month in the desk's zone), words (English and Spanish, amounts of
time), hours (the invoicing export), data (the report's content, pure), attention (what
needs attention next month, from the checks whose data the store has), render (Jinja2,
the agency's templates), run (read the store, write the files), monthly (`ronda run`
sends last month's reports from the 1st).
"""
