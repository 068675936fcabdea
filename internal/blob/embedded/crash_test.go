package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/bacport/bacport/internal/blob/embedded"
)

// crashKey is the account key shared by the crash test and its child.
var crashKey = bytes.Repeat([]byte{7}, 64)

// crashVersions are the two contents the child commits in turn, of
// different sizes and block counts.
func crashVersions() [][]byte {
	return [][]byte{bytes.Repeat([]byte("A"), 3<<20), bytes.Repeat([]byte("B"), 5<<20+17)}
}

// TestCrash kills a server process with SIGKILL while it commits blobs in
// a loop, at a random moment, then restarts on the same folder: the blob
// must be one whole version, and no block file may be left unreferenced.
func TestCrash(t *testing.T) {
	if dir := os.Getenv("BACPORT_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("kills a child process")
	}
	dir := t.TempDir()
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCrash$")
		cmd.Env = append(os.Environ(), "BACPORT_CRASH_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child: %v", err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "committed" {
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond) // a random point of the loop
		cmd.Process.Kill()
		cmd.Wait()
		checkAfterCrash(t, dir, round)
	}
}

func checkAfterCrash(t *testing.T, dir string, round int) {
	t.Helper()
	srv, err := embedded.New(embedded.Config{Dir: dir, PersistAccounts: true})
	if err != nil {
		t.Fatalf("round %d: restart: %v", round, err)
	}
	defer srv.Close()
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	c := crashClient(srv.AccountURL("crash"))
	got := make([]byte, 6<<20)
	n, err := c.DownloadBuffer(context.Background(), "box", "flip", got, nil)
	if err != nil {
		t.Fatalf("round %d: read after crash: %v", round, err)
	}
	whole := false
	for _, v := range crashVersions() {
		whole = whole || bytes.Equal(got[:n], v)
	}
	if !whole {
		t.Fatalf("round %d: after the crash the blob is %d bytes of neither version", round, n)
	}
	bl, err := c.ServiceClient().NewContainerClient("box").NewBlockBlobClient("flip").
		GetBlockList(context.Background(), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatalf("round %d: block list: %v", round, err)
	}
	blocks, _ := os.ReadDir(filepath.Join(dir, "data", "crash", "box", "blocks"))
	if len(blocks) != len(bl.CommittedBlocks) {
		t.Fatalf("round %d: %d block files after recovery, want the %d the blob uses",
			round, len(blocks), len(bl.CommittedBlocks))
	}
	t.Logf("round %d: blob is a whole %d-byte version; %d block files", round, n, len(blocks))
}

func crashClient(url string) *azblob.Client {
	cred, _ := azblob.NewSharedKeyCredential("crash", base64.StdEncoding.EncodeToString(crashKey))
	c, _ := azblob.NewClientWithSharedKeyCredential(url+"/", cred, nil)
	return c
}

// crashChild serves the folder and recommits the blob forever, saying
// "committed" after the first commit.
func crashChild(dir string) {
	srv, err := embedded.New(embedded.Config{Dir: dir, PersistAccounts: true})
	if err == nil {
		err = srv.Listen("127.0.0.1:0")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(srv.Accounts()) == 0 {
		srv.AddAccount("crash", crashKey, crashKey)
	}
	c := crashClient(srv.AccountURL("crash"))
	ctx := context.Background()
	c.CreateContainer(ctx, "box", nil)
	for i := 0; ; i++ {
		_, err := c.UploadStream(ctx, "box", "flip", bytes.NewReader(crashVersions()[i%2]),
			&azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 2})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if i == 0 {
			fmt.Println("committed")
		}
	}
}
