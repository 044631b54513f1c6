package registry

// AppendScanRowForTest exposes the scan log's canonical row encoding.
var AppendScanRowForTest = appendScanRow
