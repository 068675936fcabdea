package blob_test

import (
	"testing"

	"github.com/bacport/bacport/internal/blob/blobtest"
)

// TestConformance runs the one suite against the embedded service and
// against Azurite 3.35.0.
func TestConformance(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		blobtest.Run(t, blobtest.Embedded(t))
	})
	t.Run("azurite", func(t *testing.T) {
		t.Parallel()
		blobtest.Run(t, blobtest.Azurite(t))
	})
}
