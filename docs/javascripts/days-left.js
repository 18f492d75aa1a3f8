// The catalogue names each certificate's expiry date; this adds the days left as of the day
// the page is read (the built page does not age), marked when 60 days or fewer remain.
function showDaysLeft() {
  const today = new Date();
  const midnight = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  for (const cell of document.querySelectorAll(".days-left[data-expires]")) {
    const days = Math.round((Date.parse(cell.dataset.expires) - midnight) / 86400000);
    cell.textContent = ` (${days} day${Math.abs(days) === 1 ? "" : "s"} left)`;
    cell.classList.toggle("due", days <= 60);
  }
}
if (typeof document$ !== "undefined") {
  document$.subscribe(showDaysLeft);  // Material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", showDaysLeft);
}
