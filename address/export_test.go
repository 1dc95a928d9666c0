package address

// SplitSegment is splitSegment, for the tests of package address_test.
var SplitSegment = splitSegment

// RedactAt returns s as Redact writes it and off moved to match, as
// ParseError.Error moves its offset.
func RedactAt(s string, off int) (string, int) {
	shown, edits := redact(s)
	return shown, redactOffset(off, edits)
}
