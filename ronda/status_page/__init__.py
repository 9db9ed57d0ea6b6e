"""Status pages: static HTML a web server serves to the agency's customers, one page per
customer (or one public page for chosen sites). Each site's state now, 90 days of daily
uptime (`ronda.uptime` over the site history), open incidents with the agents' public
updates and the recently resolved ones; nothing internal."""
