package settings_test

import (
	"fmt"

	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/settings"
)

// The seed's file, one environment override in ASP.NET Core's spelling and
// one command-line override: the command line wins.
func ExampleLoad() {
	s, warns, err := settings.Load(settings.Input{
		Path: "../../testdata/appsettings.seed.json",
		Env:  []string{"Kafka__MaxProcCount=200", "Kafka__MaxProcCnt=1"},
		Overrides: []settings.Override{
			{Key: "Kafka:CommitIntervalSeconds", Value: "5", Source: "--set"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warns {
		fmt.Println("warning:", w)
	}
	fmt.Println(s.Kafka.GroupID, s.Kafka.MaxProcCount, s.Kafka.CommitIntervalSeconds)
	// Output:
	// warning: unknown key Kafka:MaxProcCnt (did you mean MaxProcCount?), from environment variable Kafka__MaxProcCnt: ignored
	// production-consumer-group-01 200 5
}
