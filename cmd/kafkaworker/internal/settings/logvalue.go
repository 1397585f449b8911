package settings

import (
	"fmt"
	"log/slog"
	"reflect"
)

// LogValue lets the effective configuration be logged at start-up, every
// setting under its appsettings.json key, with kafkaworker's defaults
// applied and secrets shown only as set or not. Logging Settings any other
// way (%v) would print the password: use this.
func (s Settings) LogValue() slog.Value {
	svc := s.Service
	svc.HTTPURL = redactURL(svc.HTTPURL)
	return slog.GroupValue(
		slog.Any(KafkaSection, sectionValue(schema[0], reflect.ValueOf(s.Kafka.WithDefaults()))),
		slog.Any(ServiceSection, sectionValue(schema[1], reflect.ValueOf(svc))),
	)
}

func sectionValue(sec *section, v reflect.Value) slog.Value {
	attrs := make([]slog.Attr, 0, len(sec.fields))
	for _, f := range sec.fields {
		fv := v.Field(f.index)
		switch {
		case f.secret && fv.IsZero():
			attrs = append(attrs, slog.String(f.key, ""))
		case f.secret:
			attrs = append(attrs, slog.String(f.key, redacted))
		case f.kind == kindList && fv.Len() == 0:
			attrs = append(attrs, slog.Any(f.key, []string{})) // [], not null
		case f.kind == kindDuration || f.kind == kindEnum:
			attrs = append(attrs, slog.String(f.key, fmt.Sprint(fv.Interface())))
		default:
			attrs = append(attrs, slog.Any(f.key, fv.Interface()))
		}
	}
	return slog.GroupValue(attrs...)
}
