"""WordPress health seen from outside: what a visitor's browser, the block editor and Google
would notice, without any plugin on the customer's site.

Pure judges, each tested directly: `core` (the core version against the current release),
`php` (PHP's end of life, from `php_eol.toml`), `page` (one bounded pass of the home page's
HTML: generator, mixed content, its own images), `debug` (PHP warnings printed into a
page), `rest` (the REST API's answer), `safe_browsing` (Google's lookup answers). The
fetching, with its state between rounds, lives in `health` alone.
"""
