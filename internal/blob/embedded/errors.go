package embedded

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"time"
)

// apiError is a failure answered with the status, x-ms-error-code header and
// XML body that Azure Storage uses, so the azblob SDK classifies it (for
// example bloberror.HasCode(err, bloberror.BlobNotFound)).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

var (
	errContainerNotFound = errorf(http.StatusNotFound, "ContainerNotFound",
		"The specified container does not exist.")
	errBlobNotFound = errorf(http.StatusNotFound, "BlobNotFound",
		"The specified blob does not exist.")
	errAccountNotFound = errorf(http.StatusNotFound, "ResourceNotFound",
		"The specified resource does not exist.")
	errContainerExists = errorf(http.StatusConflict, "ContainerAlreadyExists",
		"The specified container already exists.")
	errBlobExists = errorf(http.StatusConflict, "BlobAlreadyExists",
		"The specified blob already exists.")
	errConditionNotMet = errorf(http.StatusPreconditionFailed, "ConditionNotMet",
		"The condition specified using HTTP conditional header(s) is not met.")
	errMD5Mismatch = errorf(http.StatusBadRequest, "Md5Mismatch",
		"The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
	errInvalidBlockList = errorf(http.StatusBadRequest, "InvalidBlockList",
		"The specified block list is invalid.")
	errAuthFailed = errorf(http.StatusForbidden, "AuthenticationFailed",
		"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
	errNoAuth = errorf(http.StatusUnauthorized, "NoAuthenticationInformation",
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
	errPermissionMismatch = errorf(http.StatusForbidden, "AuthorizationPermissionMismatch",
		"This request is not authorized to perform this operation using this permission.")
	errResourceTypeMismatch = errorf(http.StatusForbidden, "AuthorizationResourceTypeMismatch",
		"This request is not authorized to perform this operation using this resource type.")
	errServiceMismatch = errorf(http.StatusForbidden, "AuthorizationServiceMismatch",
		"This request is not authorized to perform this operation using this service.")
	errAuthorizationFailure = errorf(http.StatusForbidden, "AuthorizationFailure",
		"This request is not authorized to perform this operation.")
	errProtocolMismatch = errorf(http.StatusForbidden, "AuthorizationProtocolMismatch",
		"This request is not authorized to perform this operation using this protocol.")
	errSourceIPMismatch = errorf(http.StatusForbidden, "AuthorizationSourceIPMismatch",
		"This request is not authorized to perform this operation using this source IP.")
)

func errInvalidQuery(name string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
		"Value for one of the query parameters specified in the request URI is invalid: "+name+".")
}

func errInvalidHeader(name string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidHeaderValue",
		"The value for one of the HTTP headers is not in the correct format: "+name+".")
}

func errInvalidInput(msg string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidInput", msg)
}

func errNotImplemented(op string) *apiError {
	return errorf(http.StatusNotImplemented, "NotImplemented",
		"The embedded storage service does not implement "+op+".")
}

type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// writeError answers with e. Bodies are omitted for HEAD, as Azure does; the
// SDK then reads the code from the x-ms-error-code header.
func writeError(w http.ResponseWriter, r *http.Request, reqID string, e *apiError) {
	h := w.Header()
	h.Set("x-ms-error-code", e.code)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	msg := e.message + "\nRequestId:" + reqID + "\nTime:" +
		time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	body, _ := xml.Marshal(errorBody{Code: e.code, Message: msg})
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}
