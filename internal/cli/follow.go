package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// follow shows an operation live until it ends, then prints its result
// and maps the outcome to the exit code: a failed job exits ExitFailure, a
// cancelled one ExitCancelled.
//
// It reads the server's event stream (progress and history as they
// happen) and falls back to polling the rich status when the stream is
// not available.
func follow(cmd *cobra.Command, c *apiClient, opID, link string) error {
	ctx := ctxOf(cmd)
	view := newProgressView(cmd.ErrOrStderr())
	err := c.streamOperation(ctx, opID, view)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound &&
		ae.Code != "ImportExportOperationIdNotFound" {
		err = c.pollOperation(ctx, opID, view)
	}
	view.done()
	if ctx.Err() != nil {
		return fmt.Errorf("stopped following operation %s; it goes on: follow it again with "+
			"`bacport sql db import-export-status %s --wait`", opID, opID)
	}
	if err != nil {
		return err
	}
	res, err := fetchResult(cmd, c, link)
	if err != nil {
		return err
	}
	if err := printStatus(cmd, res); err != nil {
		return err
	}
	return outcome(res)
}

// outcome turns a finished operation into the command's result.
func outcome(r *operationResult) error {
	what := strings.ToLower(r.Properties.RequestType)
	switch strings.ToLower(r.Properties.Status) {
	case "failed":
		msg := r.Properties.ErrorMessage
		if msg == "" {
			msg = "no reason given; see `bacport sql server import-export-history`"
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("the %s failed: %s", what, oneLine(msg))}
	case "cancelled", "canceled":
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("the %s was cancelled", what)}
	}
	return nil
}

// oneLine folds a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// streamOperation reads GET /bacport/operations/{id}/events until the
// "end" event, reconnecting when the stream breaks.
func (c *apiClient) streamOperation(ctx context.Context, opID string, view *progressView) error {
	failures := 0
	for {
		ended, err := c.streamOnce(ctx, opID, view)
		if ended || ctx.Err() != nil {
			return nil
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return err
		}
		if failures++; failures > 5 {
			return fmt.Errorf("lost the event stream of operation %s: %w", opID, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(failures) * time.Second):
		}
	}
}

func (c *apiClient) streamOnce(ctx context.Context, opID string, view *progressView) (bool, error) {
	req, err := c.newRequest(ctx, "GET", "/bacport/operations/"+opID+"/events", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The stream lasts as long as the job: no overall timeout.
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return false, c.reachError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, readAPIError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(line[len("data:"):], " "))
		case line == "":
			if c.dispatch(event, data.String(), view) {
				return true, nil
			}
			event = ""
			data.Reset()
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, errors.New("the event stream ended early")
}

// dispatch shows one event and reports whether it was the last.
func (c *apiClient) dispatch(event, data string, view *progressView) bool {
	switch event {
	case "progress":
		var s richStatus
		if json.Unmarshal([]byte(data), &s) == nil {
			view.update(&s)
		}
	case "history":
		var e historyEvent
		if json.Unmarshal([]byte(data), &e) == nil {
			view.history(e)
		}
	case "end":
		return true
	}
	return false
}

// pollOperation polls the rich status until the operation ends, for
// servers without the event stream.
func (c *apiClient) pollOperation(ctx context.Context, opID string, view *progressView) error {
	for {
		var s richStatus
		h, _, err := c.do(ctx, "GET", "/bacport/operations/"+opID, nil, &s)
		if err != nil {
			return err
		}
		view.update(&s)
		if terminalStatus(s.Status) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(retryAfter(h), time.Second)):
		}
	}
}
