package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/spf13/cobra"
)

func newBlobCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "blob", Short: "Upload, download, list and delete blobs in a storage account"}
	var ref accountRef
	var container, name, file, prefix string
	upload := &cobra.Command{
		Use:     "upload",
		Short:   "Upload a file as a block blob",
		Example: "  bacport storage blob upload -g rg1 -n acct1 --container bacpacs --name db1.bacpac --file db1.bacpac",
		Args:    cobra.NoArgs,
		RunE: withBlob(&ref, func(cmd *cobra.Command, bc *azblob.Client) error {
			f, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("open %s: %w", file, err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			// A first upload into a new container creates it, as a
			// new user expects.
			_, err = bc.CreateContainer(ctxOf(cmd), container, nil)
			if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
				return fmt.Errorf("create container %s: %w", container, err)
			}
			bar := newByteBar(cmd, "upload "+name, st.Size())
			defer bar.stop()
			_, err = bc.UploadStream(ctxOf(cmd), container, name, &countingReader{r: f, n: &bar.n}, nil)
			if err != nil {
				return fmt.Errorf("upload %s: %w", name, err)
			}
			return nil
		}),
	}
	download := &cobra.Command{
		Use:     "download",
		Short:   "Download a blob to a file",
		Example: "  bacport storage blob download -g rg1 -n acct1 --container bacpacs --name db1.bacpac --file copy.bacpac",
		Args:    cobra.NoArgs,
		RunE: withBlob(&ref, func(cmd *cobra.Command, bc *azblob.Client) error {
			resp, err := bc.DownloadStream(ctxOf(cmd), container, name, nil)
			if err != nil {
				return fmt.Errorf("download %s: %w", name, err)
			}
			defer resp.Body.Close()
			var size int64
			if resp.ContentLength != nil {
				size = *resp.ContentLength
			}
			tmp := file + ".part"
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			bar := newByteBar(cmd, "download "+name, size)
			_, err = io.Copy(f, &countingReader{r: resp.Body, n: &bar.n})
			bar.stop()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("download %s: %w", name, err)
			}
			return os.Rename(tmp, file)
		}),
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List blobs in a container",
		Example: "  bacport storage blob list -g rg1 -n acct1 --container bacpacs",
		Args:    cobra.NoArgs,
		RunE: withBlob(&ref, func(cmd *cobra.Command, bc *azblob.Client) error {
			var rows []map[string]any
			pager := bc.NewListBlobsFlatPager(container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
			for pager.More() {
				page, err := pager.NextPage(ctxOf(cmd))
				if err != nil {
					return fmt.Errorf("list blobs: %w", err)
				}
				for _, b := range page.Segment.BlobItems {
					row := map[string]any{"name": *b.Name}
					if b.Properties != nil && b.Properties.ContentLength != nil {
						row["size"] = *b.Properties.ContentLength
					}
					if b.Properties != nil && b.Properties.LastModified != nil {
						row["lastModified"] = b.Properties.LastModified.Format(time.RFC3339)
					}
					rows = append(rows, row)
				}
			}
			return render(cmd, map[string]any{"value": rows}, "name", "size", "lastModified")
		}),
	}
	del := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a blob",
		Example: "  bacport storage blob delete -g rg1 -n acct1 --container bacpacs --name old.bacpac",
		Args:    cobra.NoArgs,
		RunE: withBlob(&ref, func(cmd *cobra.Command, bc *azblob.Client) error {
			if _, err := bc.DeleteBlob(ctxOf(cmd), container, name, nil); err != nil {
				return fmt.Errorf("delete %s: %w", name, err)
			}
			return nil
		}),
	}
	for _, sub := range []*cobra.Command{upload, download, list, del} {
		ref.bind(sub)
		sub.Flags().StringVar(&container, "container", "", "container name")
		switch sub {
		case list:
			sub.Flags().StringVar(&prefix, "prefix", "", "only blobs whose names start with this")
		default:
			sub.Flags().StringVar(&name, "name", "", "blob name")
		}
		if sub == upload || sub == download {
			sub.Flags().StringVar(&file, "file", "", "local file")
			sub.MarkFlagRequired("file")
		}
		sub.MarkFlagRequired("container")
		if sub != list {
			sub.MarkFlagRequired("name")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

// withBlob adapts a blob command: it finds the account's blob endpoint and
// first key through the API, then talks to the account with azblob.
func withBlob(ref *accountRef, fn func(cmd *cobra.Command, bc *azblob.Client) error) func(*cobra.Command, []string) error {
	return withClient(func(cmd *cobra.Command, c *apiClient, _ []string) error {
		bc, err := blobClient(ctxOf(cmd), c, ref)
		if err != nil {
			return err
		}
		return fn(cmd, bc)
	})
}

func blobClient(ctx context.Context, c *apiClient, ref *accountRef) (*azblob.Client, error) {
	path, err := ref.path(c)
	if err != nil {
		return nil, err
	}
	var acct struct {
		Properties struct {
			PrimaryEndpoints struct {
				Blob string `json:"blob"`
			} `json:"primaryEndpoints"`
		} `json:"properties"`
	}
	if _, _, err := c.do(ctx, "GET", path, nil, &acct); err != nil {
		return nil, err
	}
	var keys struct {
		Keys []struct {
			Value string `json:"value"`
		} `json:"keys"`
	}
	if _, _, err := c.do(ctx, "POST", path+"/listKeys", nil, &keys); err != nil {
		return nil, err
	}
	endpoint := acct.Properties.PrimaryEndpoints.Blob
	if endpoint == "" || len(keys.Keys) == 0 {
		return nil, errors.New("the storage account reports no blob endpoint or key")
	}
	cred, err := azblob.NewSharedKeyCredential(ref.account, keys.Keys[0].Value)
	if err != nil {
		return nil, fmt.Errorf("use the account key: %w", err)
	}
	opts := &azblob.ClientOptions{}
	opts.Transport = &http.Client{Transport: c.http.Transport}
	opts.Retry = policy.RetryOptions{MaxRetries: 3}
	return azblob.NewClientWithSharedKeyCredential(strings.TrimRight(endpoint, "/")+"/", cred, opts)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// byteBar draws a transfer's progress until stopped.
type byteBar struct {
	n     atomic.Int64
	stopc chan struct{}
	done  chan struct{}
}

func newByteBar(cmd *cobra.Command, label string, total int64) *byteBar {
	b := &byteBar{stopc: make(chan struct{}), done: make(chan struct{})}
	w := cmd.ErrOrStderr()
	tty := isTerminalWriter(w)
	start := time.Now()
	draw := func(final bool) {
		n := b.n.Load()
		rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
		pct := 100.0
		if total > 0 {
			pct = float64(n) * 100 / float64(total)
		}
		line := fmt.Sprintf("%s %5.1f%% %s of %s, %s/s", label, pct, formatBytes(n), formatBytes(total),
			formatBytes(int64(rate)))
		switch {
		case tty:
			fmt.Fprintf(w, "\r\x1b[2K%s", line)
			if final {
				fmt.Fprintln(w)
			}
		case final:
			fmt.Fprintln(w, line)
		}
	}
	go func() {
		defer close(b.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stopc:
				draw(true)
				return
			case <-t.C:
				draw(false)
			}
		}
	}()
	return b
}

func (b *byteBar) stop() {
	select {
	case <-b.stopc:
	default:
		close(b.stopc)
		<-b.done
	}
}
