package mysql

import (
	"testing"

	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/engine/enginetest"
)

// Harness describes the MySQL/MariaDB engine to the conformance suite.
func Harness() enginetest.Harness {
	return enginetest.Harness{
		Driver:      New(),
		NewDatabase: newDatabase,
		NewName:     newName,
		Exec:        exec,
		Families:    families,
		WrongPassword: func(t *testing.T, cfg engine.Config) engine.Config {
			exec(t, engine.Config{DSN: serverDSN()}, "CREATE USER IF NOT EXISTS "+
				"'bacport_test'@'%' IDENTIFIED BY 'right-pass'")
			cfg.Login, cfg.Password = "bacport_test", "Sw0rdfish-wrong-4d2"
			return cfg
		},
		Unreachable: func(t *testing.T) engine.Config {
			return engine.Config{DSN: "mysql://root@127.0.0.1:1/bacport_unreachable"}
		},
		// datetimeoffset=utc and fraction=truncate (see the package doc).
		Lossy:         enginetest.LossyMappings{OffsetToUTC: true, Microseconds: true},
		StrictFixture: "BACPACToD-Test.bacpac",
	}
}

func TestConformance(t *testing.T) {
	needServer(t)
	enginetest.Run(t, Harness())
}
