package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
	"github.com/bacport/bacport/internal/blob"
	"github.com/bacport/bacport/internal/engine"
	"github.com/bacport/bacport/internal/store"
)

// Transfer is the data path of bacport: engines through the engine
// pipelines, packages streamed to and from blob storage with azblob.
//
// Export streams the package into staged blocks (UploadStream) and commits
// the block list only when the package is complete; on any error or a
// cancel the pipe is broken, nothing is committed, and the staged blocks
// expire. Without overwrite the commit carries If-None-Match: *, so a blob
// that appeared meanwhile is not replaced. Import reads the package with
// ranged GETs and loads it through engine.Import, which aborts the target
// on any error.
type Transfer struct {
	// TempDir is where the package writer spills data parts before they
	// are appended to the stream; empty means the system default.
	TempDir string
	// Parallel is how many tables move at once; zero lets the engine pick.
	Parallel int
	// BlockSize is the upload block size; zero means the blob package's
	// default.
	BlockSize int
	// BytesPerSecond, when positive, caps how fast each job moves its
	// package (written to storage on export, read on import), to spare the
	// database server, the network and the storage account.
	BytesPerSecond int64
}

var _ DataPath = (*Transfer)(nil)

func (x *Transfer) driver(t *Task) (engine.Driver, error) {
	d, err := engine.Lookup(t.Engine.Config.DSN)
	if err != nil {
		return nil, Errorf(CodeNotSupported, err, "this bacport has no driver for the server's engine (%s)",
			t.Engine.Driver)
	}
	return d, nil
}

// Check validates a task before any work: the storage credential and the
// blob's state, the package's checksum (import), the engine credentials
// and the target database's state.
func (x *Transfer) Check(ctx context.Context, t *Task) error {
	acct, u, err := x.account(t)
	if err != nil {
		return err
	}
	props, err := acct.Properties(ctx, u.Container, u.Blob)
	exists := err == nil
	if exists && t.Op.Kind == store.KindExport && metaValue(props.Metadata, MetaOperation) == t.Op.ID {
		return ErrPackageCommitted
	}
	if err != nil && t.Op.Kind == store.KindExport && containerMissing(err) {
		// An export creates its container, as a user writing a file
		// would expect; the credential must allow it.
		if err := acct.CreateContainer(ctx, u.Container); err != nil && !errors.Is(err, blob.ErrExists) {
			return storageError(err, t.Storage.URI)
		}
		err = nil
	}
	if err != nil && (!errors.Is(err, blob.ErrNotFound) || containerMissing(err)) {
		return storageError(err, t.Storage.URI)
	}
	if t.Op.Kind == store.KindExport {
		if exists && !t.Op.Request.Overwrite {
			return Errorf(CodeBlobExists, nil, "a blob already exists at %s; choose another storageUri "+
				"or set overwrite to true", t.Storage.URI)
		}
		if err := probeWrite(ctx, acct, u); err != nil {
			return err
		}
	} else {
		if !exists {
			return Errorf(CodeBlobNotFound, nil, "no package at %s; check storageUri", t.Storage.URI)
		}
		r, err := acct.Open(ctx, u.Container, u.Blob)
		if err != nil {
			return storageError(err, t.Storage.URI)
		}
		if _, err := bacpac.Open(r, r.Size()); err != nil {
			return packageError(err, t.Storage.URI)
		}
	}

	d, err := x.driver(t)
	if err != nil {
		return err
	}
	cfg := t.Engine.Config
	cfg.Database = ""
	if err := d.Ping(ctx, cfg); err != nil {
		return Classify(fmt.Errorf("connect to the database server: %w", err))
	}
	names, err := d.Databases(ctx, t.Engine.Config)
	if err != nil {
		return Classify(fmt.Errorf("list databases: %w", err))
	}
	has := slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, t.Op.DatabaseName) })
	switch t.Op.Kind {
	case store.KindImportNew:
		if has {
			return Classify(engine.ErrDatabaseExists)
		}
	case store.KindExport:
		if !has {
			return Classify(engine.ErrNoDatabase)
		}
	case store.KindImportExisting:
		if !has {
			return Classify(engine.ErrNoDatabase)
		}
		tgt, err := d.OpenTarget(ctx, t.Engine.Config, false)
		if err != nil {
			return Classify(fmt.Errorf("open target database: %w", err))
		}
		tgt.Close()
	}
	return nil
}

func packageError(err error, uri string) error {
	switch {
	case errors.Is(err, bacpac.ErrChecksum):
		return Errorf(CodeBadPackage, err, "the package at %s is damaged: model.xml does not match the "+
			"checksum in Origin.xml; export it again", uri)
	case errors.Is(err, bacpac.ErrFormat), errors.Is(err, bacpac.ErrZipBomb):
		return Errorf(CodeBadPackage, err, "the blob at %s is not a readable BACPAC package: %v", uri, err)
	}
	var se *blob.ServiceError
	if errors.As(err, &se) || errors.Is(err, blob.ErrChanged) {
		return storageError(err, uri)
	}
	return Errorf(CodeBadPackage, err, "the package at %s could not be read: %v", uri, err)
}

// Export writes the task's database as a package to its blob.
func (x *Transfer) Export(ctx context.Context, t *Task) error {
	acct, u, err := x.account(t)
	if err != nil {
		return err
	}
	d, err := x.driver(t)
	if err != nil {
		return err
	}
	src, err := d.OpenSource(ctx, t.Engine.Config)
	if err != nil {
		return Classify(fmt.Errorf("open source database: %w", err))
	}
	defer src.Close()
	if m, err := src.Model(ctx); err == nil {
		t.Progress.SetTables(len(m.Tables))
	}

	pr, pw := io.Pipe()
	uploaded := make(chan error, 1)
	go func() {
		_, err := acct.Upload(ctx, u.Container, u.Blob, pr, &blob.UploadOptions{
			BlockSize: x.BlockSize, Overwrite: t.Op.Request.Overwrite, ContentType: "application/zip",
			Metadata: map[string]string{MetaOperation: t.Op.ID, MetaRun: strconv.Itoa(t.Op.Runs)}})
		pr.CloseWithError(err) // unblock the writer if the upload gave up
		uploaded <- err
	}()

	_, err = engine.Export(ctx, src, x.limitWriter(ctx, pw), engine.ExportOptions{
		Parallel: x.Parallel, TempDir: x.TempDir, Server: t.Op.ServerName, Database: t.Op.DatabaseName,
		Engine: t.Engine.Driver, Progress: x.progress(ctx, t), Logger: t.Log,
	})
	if err != nil {
		pw.CloseWithError(err) // the upload fails and never commits
		<-uploaded
		return Classify(fmt.Errorf("export database: %w", err))
	}
	t.Progress.Phase(ctx, PhaseVerifying)
	if err := t.Commit(ctx); err != nil {
		pw.CloseWithError(err) // cancelled just in time: nothing is committed
		<-uploaded
		return err
	}
	pw.Close()
	if err := <-uploaded; err != nil {
		return storageError(err, t.Storage.URI)
	}
	props, err := acct.Properties(ctx, u.Container, u.Blob)
	if err != nil {
		return storageError(err, t.Storage.URI)
	}
	t.Log.Info("package written", "bytes", props.Size)
	return nil
}

// Import loads the task's package into its database.
func (x *Transfer) Import(ctx context.Context, t *Task) error {
	acct, u, err := x.account(t)
	if err != nil {
		return err
	}
	// Each table read at once scans the package on its own.
	r, err := acct.OpenWith(ctx, u.Container, u.Blob,
		&blob.ReaderOptions{Scans: engine.Parallelism(x.Parallel)})
	if err != nil {
		return storageError(err, t.Storage.URI)
	}
	pkg, err := bacpac.Open(x.limitReaderAt(ctx, r), r.Size())
	if err != nil {
		return packageError(err, t.Storage.URI)
	}
	t.Progress.SetTables(len(pkg.Model().Tables))
	if o := pkg.Origin(); o != nil && o.TotalRows > 0 {
		t.Progress.SetTotalRows(o.TotalRows)
	}

	d, err := x.driver(t)
	if err != nil {
		return err
	}
	tgt, err := d.OpenTarget(ctx, t.Engine.Config, t.Op.Kind == store.KindImportNew)
	if err != nil {
		return Classify(fmt.Errorf("open target database: %w", err))
	}
	defer tgt.Close()
	rep, err := engine.Import(ctx, pkg, tgt, engine.ImportOptions{
		Parallel: x.Parallel, Progress: x.progress(ctx, t), Logger: t.Log,
	})
	if err != nil {
		return Classify(fmt.Errorf("import package: %w", err))
	}
	for _, s := range rep.Skipped {
		t.Log.Info("object not imported", "kind", s.Kind, "name", s.Name, "reason", s.Reason)
	}
	t.Log.Info("package imported", "rows", rep.Rows, "tables", len(rep.Tables), "skipped", len(rep.Skipped))
	return nil
}

// Discard removes what an interrupted import left: a database the import
// created is dropped; an existing one is dropped and created again empty,
// which is how an engine-neutral "empty it" is done.
func (x *Transfer) Discard(ctx context.Context, t *Task) error {
	d, err := x.driver(t)
	if err != nil {
		return err
	}
	if err := d.DropDatabase(ctx, t.Engine.Config); err != nil {
		return fmt.Errorf("drop partly imported database: %w", err)
	}
	if t.Op.Kind == store.KindImportExisting {
		tgt, err := d.OpenTarget(ctx, t.Engine.Config, true)
		if err != nil {
			return fmt.Errorf("create empty database again: %w", err)
		}
		return tgt.Close()
	}
	return nil
}

// account connects to the task's storage account, through the task's
// route when one is set.
func (x *Transfer) account(t *Task) (*blob.Account, blob.URI, error) {
	opts := &blob.Options{Logger: t.Log}
	if t.Storage.Dial != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = t.Storage.Dial
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	keyType := canonicalKeyType(t.Storage.KeyType)
	a, u, err := blob.OpenURI(t.Storage.URI, keyType, t.Storage.Key, opts)
	if err != nil {
		return nil, u, Errorf(CodeStorageURI, err, "storageUri and storageKey do not make a usable "+
			"storage account address: %v", err)
	}
	return a, u, nil
}

func canonicalKeyType(k string) string {
	switch strings.ToLower(k) {
	case "storageaccesskey":
		return blob.StorageAccessKey
	case "sharedaccesskey":
		return blob.SharedAccessKey
	}
	return k
}

// progress turns engine progress events into the task's progress.
func (x *Transfer) progress(ctx context.Context, t *Task) func(engine.Progress) {
	return func(p engine.Progress) {
		switch p.Phase {
		case engine.PhaseSchema:
			t.Progress.Phase(ctx, PhaseSchema)
		case engine.PhaseData:
			t.Progress.enter(ctx, PhaseData)
			t.Progress.Table(ctx, p.Table, p.Rows, p.Bytes, false)
		case engine.PhaseTable:
			t.Progress.Table(ctx, p.Table, p.Rows, p.Bytes, true)
		case engine.PhaseFinish:
			t.Progress.Phase(ctx, PhaseIndexes)
		}
	}
}

// metaValue reads a metadata value; storage services may change the case
// of metadata names.
func metaValue(md map[string]string, name string) string {
	for k, v := range md {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
