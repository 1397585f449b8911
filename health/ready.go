package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// readiness serves /readyz: 200 when the consumer is in its group and no
// partition is stalled, 503 with a JSON body saying why otherwise.
type readiness struct {
	c      *kafkaworker.Consumer
	stalls *stallDetector
	log    *slog.Logger
}

// readyBody is /readyz's answer.
type readyBody struct {
	Status     string  `json:"status"` // ready, not_in_group or stalled
	Partitions int     `json:"partitions"`
	Stalled    []stall `json:"stalled,omitempty"`
}

func (h *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s := h.c.Stats()
	body := readyBody{Status: "ready", Partitions: len(s.Partitions)}
	code := http.StatusOK
	// Stalls are checked on every call, even when not in the group, so
	// that the detector's memory of commit points stays current.
	body.Stalled = h.stalls.check(s, time.Now())
	switch {
	case !s.Running || s.Joins == 0:
		// Before the first join the consumer has done nothing: not
		// ready, or a rollout would move on to a member that is still
		// joining. A member that joined but owns nothing (more members
		// than partitions) is ready: it is a standby.
		body.Status, code = "not_in_group", http.StatusServiceUnavailable
	case len(body.Stalled) > 0:
		body.Status, code = "stalled", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		h.log.Debug("admin: writing /readyz", "err", err)
	}
}
