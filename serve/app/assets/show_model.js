(on) => { document.getElementById('ann-text')?.classList.toggle('sl-show-model', !!on); }
