"""The one shared upstream HTTP client; transport errors are mapped to jairouter.errors here."""
