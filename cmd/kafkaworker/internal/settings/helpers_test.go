package settings

import (
	"io"
	"log/slog"
)

// logSettings logs s as the binary does at start-up.
func logSettings(w io.Writer, s Settings) {
	slog.New(slog.NewJSONHandler(w, nil)).Info("configuration", "settings", s)
}
