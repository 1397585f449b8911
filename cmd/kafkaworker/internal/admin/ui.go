package admin

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the status page's files, embedded so that the page works
// where the cluster has no internet access: no CDN, no web fonts.
//
//go:embed ui
var assets embed.FS

// contentSecurity allows the page nothing from elsewhere: its scripts,
// styles and data come from this server alone, and it may not be framed.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// ui serves the status page at / and its assets under /ui/.
func ui(mux *http.ServeMux) {
	sub, err := fs.Sub(assets, "ui")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	files := http.FileServerFS(sub)
	mux.Handle("GET /{$}", secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	})))
	mux.Handle("GET /ui/", secured(http.StripPrefix("/ui/", files)))
}

func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurity)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
