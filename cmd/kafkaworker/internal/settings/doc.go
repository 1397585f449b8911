// Package settings loads the kafkaworker service's configuration the way
// ASP.NET Core's configuration system loads the seed's: so that the seed's
// appsettings.json, its environment variables and its deployment habits carry
// over unchanged.
//
// # Sections
//
// The "Kafka" section binds to kafkaworker.Config, as the seed's
// Configure<KafkaConsumerConfig>(GetSection("Kafka")) does. The
// "KafkaWorker" section holds what only the service needs (which handler,
// where the admin server listens, logging): see Service. It is named for the
// service rather than a generic "Service" so that it cannot collide with a
// section another program keeps in a shared appsettings.json. Other sections
// ("Logging", "AllowedHosts", …) are ignored, as an ASP.NET Core program
// ignores sections it does not bind.
//
// # Keys and precedence
//
// Keys are paths such as Kafka:MaxProcCount, matched case-insensitively, as
// ASP.NET Core's binder matches them; GroupId binds Config.GroupID. Every
// source is flattened to such paths before binding, so the layers compose
// key by key:
//
//	defaults < appsettings.json < environment < command-line overrides
//
// The environment uses ASP.NET Core's spelling, a double underscore for the
// section separator (Kafka__MaxProcCount=200); variables whose first
// segment is not a known section are ignored. Overrides are
// "Section:Key=Value" strings, applied in order, the last one winning.
//
// A list setting (Kafka:Topics) is an array in JSON, a comma-separated
// string anywhere, or indexed keys (Kafka__Topics__0). Unlike ASP.NET Core,
// which merges arrays index by index, a layer that sets a list replaces the
// whole list: an override of two topics must not silently keep a third from
// the file.
//
// # Values
//
// Durations accept a Go duration ("30s"), a .NET TimeSpan ("00:00:30",
// "1.02:03:04.5") or a number of seconds (30, 1.5). Booleans are true or
// false in any case; enumerations (Ordering, FailurePolicy,
// AutoOffsetReset) are matched case-insensitively, as .NET binds enums. An
// empty value (Kafka__MaxProcCount=) resets a setting to its default.
//
// # Problems
//
// Load reports every problem at once, each with its key, value and source,
// then combines them with kafkaworker.Config.Validate's. An unknown key in a
// known section is a warning, not an error, naming the closest known key, so
// that a typo is visible without breaking a deployment that carries settings
// for a newer version. Secret values (Kafka:SaslPassword) never appear in a
// problem, a warning or a log line.
package settings
