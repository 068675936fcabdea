package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/spf13/cobra"
)

// addPackageInspectCmds adds "package inspect" and "package verify".
func addPackageInspectCmds(parent *cobra.Command) {
	var asJSON bool
	inspect := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a package's tables, objects, checksum verdict and origin",
		Long: `Inspect reads a .bacpac and prints each table with its row and part counts,
the objects it carries that are not tables (views, procedures, users, …), whether
model.xml matches the checksum in Origin.xml, and which DacFx build wrote it from
which server. Counting rows decodes every part. It exits 1 when the checksum does
not match or a part does not decode.`,
		Example: "  bacport package inspect AdventureWorksLT.bacpac\n" +
			"  bacport package inspect db1.bacpac --json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), cmd.OutOrStdout(), args[0], asJSON)
		},
	}
	inspect.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")

	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Decode every row of every table and check the package's checksums and counts",
		Long: `Verify opens a .bacpac, checks the model.xml checksum and every zip CRC, decodes
every value of every table, and compares the row total with Origin.xml. It exits 1
naming the part and byte offset of the first value that does not decode.`,
		Example: "  bacport package verify AdventureWorksLT.bacpac",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	parent.AddCommand(inspect, verify)
}

// inspectReport is what inspect prints; its JSON form is the --json output.
type inspectReport struct {
	File           string          `json:"file"`
	ProductName    string          `json:"dacfxProduct"`
	ProductVersion string          `json:"dacfxVersion"`
	ExportStart    string          `json:"exportStart,omitempty"`
	Server         string          `json:"sourceServer"`
	ServerVersion  string          `json:"sourceServerVersion"`
	Database       string          `json:"sourceDatabase"`
	DSPName        string          `json:"dspName"`
	Checksum       checksumReport  `json:"checksum"`
	DeclaredRows   *int64          `json:"declaredRows"`
	Rows           int64           `json:"rows"`
	Tables         []tableReport   `json:"tables"`
	Objects        []bacpac.Object `json:"objects"`
	Unknown        []string        `json:"unknownElementTypes"`
	Orphans        []string        `json:"orphanParts,omitempty"`
	Error          string          `json:"error,omitempty"`
}

type checksumReport struct {
	OK       bool   `json:"ok"`
	Recorded string `json:"recorded"`
	Computed string `json:"computed"`
}

type tableReport struct {
	Schema  string       `json:"schema"`
	Name    string       `json:"name"`
	Columns int          `json:"columns"`
	Rows    int64        `json:"rows"`
	Parts   []partReport `json:"parts"`
	Error   string       `json:"error,omitempty"`
	// BadValue locates the value that stopped decoding, when Error is one.
	BadValue *badValueReport `json:"badValue,omitempty"`
}

// badValueReport is where a table's first bad value is, so a script can
// find it without parsing the error text.
type badValueReport struct {
	Part   string `json:"part"`
	Offset int64  `json:"offset"`
	Row    int64  `json:"row"`
	Column string `json:"column,omitempty"`
}

type partReport struct {
	Name             string `json:"name"`
	CompressedSize   int64  `json:"compressedSize"`
	UncompressedSize int64  `json:"uncompressedSize"`
}

func runInspect(ctx context.Context, out io.Writer, name string, asJSON bool) error {
	f, err := bacpac.OpenFileUnverified(name)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	defer f.Close()
	rep, failure := inspectPackage(ctx, f.Package, name)
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printInspect(out, rep)
	}
	if failure != nil {
		return &ExitError{Code: ExitFailure, Err: failure}
	}
	return nil
}

// inspectPackage builds the report, counting each table's rows. The error
// it returns is the first reason the package is not sound.
func inspectPackage(ctx context.Context, p *bacpac.Package, name string) (*inspectReport, error) {
	o, m, sum := p.Origin(), p.Model(), p.Checksum()
	rep := &inspectReport{
		File:           name,
		ProductName:    o.ProductName,
		ProductVersion: o.ProductVersion,
		ExportStart:    o.StartText,
		Server:         o.ServerName(),
		ServerVersion:  o.ServerVersion,
		Database:       o.Database,
		DSPName:        m.DSPName,
		Checksum:       checksumReport{sum.OK(), sum.Recorded, sum.Computed},
		Objects:        m.Objects,
		Unknown:        m.Unknown,
	}
	if rep.Objects == nil {
		rep.Objects = []bacpac.Object{}
	}
	if rep.Unknown == nil {
		rep.Unknown = []string{}
	}
	if o.TotalRows >= 0 {
		rep.DeclaredRows = &o.TotalRows
	}
	var failure error
	if !sum.OK() {
		failure = fmt.Errorf("%w: recorded %q, computed %s", bacpac.ErrChecksum,
			sum.Recorded, sum.Computed)
	}
	for _, t := range m.Tables {
		tr := tableReport{Schema: t.Schema, Name: t.Name, Columns: len(t.Columns),
			Parts: []partReport{}}
		for _, part := range p.Parts(t) {
			tr.Parts = append(tr.Parts, partReport{part.Name, part.CompressedSize, part.UncompressedSize})
		}
		rows := p.Rows(t)
		for rows.Next() {
		}
		tr.Rows = rows.Count()
		if err := rows.Err(); err != nil {
			tr.Error = err.Error()
			if de, ok := errors.AsType[*bacpac.DataError](err); ok {
				tr.BadValue = &badValueReport{de.Part, de.Offset, de.Row, de.Column}
			}
			failure = cmp.Or(failure, err)
		}
		rows.Close()
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Rows += tr.Rows
		rep.Tables = append(rep.Tables, tr)
	}
	for _, part := range p.Orphans() {
		rep.Orphans = append(rep.Orphans, part.Name)
	}
	if failure == nil && rep.DeclaredRows != nil && *rep.DeclaredRows != rep.Rows {
		failure = fmt.Errorf("%w: decoded %d rows, Origin.xml declares %d",
			bacpac.ErrRowCount, rep.Rows, *rep.DeclaredRows)
	}
	if failure != nil {
		rep.Error = failure.Error()
	}
	return rep, failure
}

func printInspect(out io.Writer, rep *inspectReport) {
	fmt.Fprintf(out, "Package:     %s\n", rep.File)
	fmt.Fprintf(out, "Written by:  DacFx %s\n", cmp.Or(rep.ProductVersion, "(unknown version)"))
	if rep.ExportStart != "" {
		fmt.Fprintf(out, "Exported:    %s\n", rep.ExportStart)
	}
	fmt.Fprintf(out, "Source:      %s\n", cmp.Or(rep.Server, "(server not recorded)"))
	fmt.Fprintf(out, "Database:    %s\n", cmp.Or(rep.Database, "(not recorded)"))
	switch {
	case rep.Checksum.OK:
		fmt.Fprintf(out, "Checksum:    OK (model.xml SHA-256 %s)\n", rep.Checksum.Computed)
	case rep.Checksum.Recorded == "":
		fmt.Fprintf(out, "Checksum:    MISSING (Origin.xml records none; model.xml hashes to %s)\n",
			rep.Checksum.Computed)
	default:
		fmt.Fprintf(out, "Checksum:    MISMATCH (Origin.xml records %s, model.xml hashes to %s)\n",
			rep.Checksum.Recorded, rep.Checksum.Computed)
	}
	declared := "not declared"
	if rep.DeclaredRows != nil {
		declared = fmt.Sprintf("Origin.xml declares %d", *rep.DeclaredRows)
	}
	fmt.Fprintf(out, "Rows:        %d (%s)\n\n", rep.Rows, declared)

	fmt.Fprintf(out, "Tables (%d):\n", len(rep.Tables))
	width := len("TABLE")
	for _, t := range rep.Tables {
		width = max(width, len(t.Schema)+len(t.Name)+5)
	}
	fmt.Fprintf(out, "  %-*s %10s %6s %14s\n", width, "TABLE", "ROWS", "PARTS", "BYTES")
	for _, t := range rep.Tables {
		var size int64
		for _, p := range t.Parts {
			size += p.UncompressedSize
		}
		fmt.Fprintf(out, "  %-*s %10d %6d %14d\n", width, "["+t.Schema+"].["+t.Name+"]",
			t.Rows, len(t.Parts), size)
		if t.Error != "" {
			fmt.Fprintf(out, "    ERROR: %s\n", t.Error)
		}
	}
	fmt.Fprintf(out, "\nObjects not carried as tables (%d):\n", len(rep.Objects))
	for _, o := range rep.Objects {
		fmt.Fprintf(out, "  %-28s %s\n", strings.TrimPrefix(o.Kind, "Sql"), cmp.Or(o.Name, "(unnamed)"))
	}
	if len(rep.Unknown) > 0 {
		fmt.Fprintf(out, "\nElement types this reader does not know: %s\n", strings.Join(rep.Unknown, ", "))
	}
	for _, name := range rep.Orphans {
		fmt.Fprintf(out, "\nPart without a table in model.xml: %s\n", name)
	}
	if rep.Error != "" {
		fmt.Fprintf(out, "\nPROBLEM: %s\n", rep.Error)
	}
}

func runVerify(ctx context.Context, out io.Writer, name string) error {
	f, err := bacpac.OpenFile(name)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	defer f.Close()
	counts, err := f.Verify(ctx, nil)
	if err != nil {
		// A *bacpac.DataError names the part and byte offset itself.
		err = fmt.Errorf("verify %s: %w", name, err)
		return &ExitError{Code: ExitFailure, Err: err}
	}
	var rows int64
	parts := 0
	for _, c := range counts {
		rows += c.Rows
		parts += c.Parts
	}
	total := "Origin.xml declares no row total"
	if o := f.Origin(); o.TotalRows >= 0 {
		total = fmt.Sprintf("matches Origin.xml's %d", o.TotalRows)
	}
	fmt.Fprintf(out, "%s: OK: checksum matches; %d tables, %d parts, %d rows decoded (%s)\n",
		name, len(counts), parts, rows, total)
	return nil
}
